# Warnings are errors in every veil target (third-party headers are included as SYSTEM).
function(veil_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wimplicit-fallthrough -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports false positives in std::vector/variant under -O2 (PR 105562, 107138, 105651).
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-array-bounds
      -Wno-stringop-overflow -Wno-restrict)
  endif()
endfunction()

# veil_module(NAME SOURCES ... DEPS ...): a static library for one module folder.
function(veil_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${VEIL_INCLUDE_DIR} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  veil_set_warnings(${name})
endfunction()
