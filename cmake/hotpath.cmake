# Small helpers so each layer's CMakeLists.txt reads as a list of targets.

# hp_cc_library(NAME SRCS ... DEPS ...): a static library with the project's warnings.
function(hp_cc_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${HOTPATH_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# hp_cc_test(NAME SRCS ... DEPS ... LABEL unit|integration|e2e|crash): a GoogleTest binary
# registered with ctest under its label.
function(hp_cc_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${HOTPATH_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT 300)
endfunction()

# hp_cc_benchmark(NAME SRCS ... DEPS ...): a Google Benchmark binary with the project's main
# (engine/testing/benchmark_main.cc); built, not run by ctest.
function(hp_cc_benchmark name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS} ${CMAKE_SOURCE_DIR}/engine/testing/benchmark_main.cc)
  target_compile_options(${name} PRIVATE ${HOTPATH_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark absl::synchronization)
endfunction()

# hp_proto_library(NAME PROTOS a.proto ... [GRPC] [ROOT dir]): generates C++ (and gRPC stubs
# with GRPC) at build time from files under ROOT (default: protos/), keeping their paths below
# it. Generated code is compiled without the project's warnings: it is not ours.
function(hp_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS;DEPS" ${ARGN})
  set(out_dir "${CMAKE_BINARY_DIR}/gen")
  set(proto_root "${CMAKE_SOURCE_DIR}/protos")
  if(ARG_ROOT)
    get_filename_component(proto_root "${ARG_ROOT}" ABSOLUTE)
  endif()
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs "${proto}" ABSOLUTE)
    file(RELATIVE_PATH rel "${proto_root}" "${abs}")
    string(REGEX REPLACE "\\.proto$" "" base "${rel}")
    set(outputs "${out_dir}/${base}.pb.cc" "${out_dir}/${base}.pb.h")
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs "${out_dir}/${base}.grpc.pb.cc" "${out_dir}/${base}.grpc.pb.h")
      set(plugin_args "--grpc_out=${out_dir}"
                      "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
      COMMAND protobuf::protoc --cpp_out=${out_dir} ${plugin_args} -I "${proto_root}" "${abs}"
      DEPENDS "${abs}" protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} SYSTEM PUBLIC "${out_dir}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${ARG_DEPS})
endfunction()
