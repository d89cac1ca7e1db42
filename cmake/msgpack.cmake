# msgpack.cmake — where msgpack-c's C library comes from: the INTERFACE target
# sharr_msgpack (its headers and libmsgpackc), which proto/ and libsharr link.
#
# Two ways, so that a build never needs msgpack's C++ library or Boost:
# - pkg-config `msgpack`, when Debian's libmsgpack-dev is installed (it depends on
#   libmsgpack-cxx-dev, which pulls Boost);
# - else -DSHARR_MSGPACK_HEADERS=DIR, a directory holding msgpack.h, and the C-only
#   runtime library libmsgpackc.so.2 (Debian's libmsgpackc2) linked by its full path.
#   scripts/deps.sh unpacks the headers of the libmsgpack-dev that matches the
#   installed libmsgpackc2, without installing it, and prints this option. Only the
#   headers are used: that package's pkg-config and CMake files name /usr and the
#   libmsgpackc.so symlink, which is not installed.
set(SHARR_MSGPACK_HEADERS "" CACHE PATH
  "msgpack-c's C headers (the directory holding msgpack.h), when libmsgpack-dev is not installed")
add_library(sharr_msgpack INTERFACE)

if(SHARR_MSGPACK_HEADERS)
  if(NOT EXISTS "${SHARR_MSGPACK_HEADERS}/msgpack.h")
    message(FATAL_ERROR "SHARR_MSGPACK_HEADERS=${SHARR_MSGPACK_HEADERS} holds no msgpack.h "
      "(scripts/deps.sh unpacks the headers and prints the option to pass)")
  endif()
  find_library(SHARR_MSGPACKC_LIBRARY NAMES libmsgpackc.so.2
    DOC "msgpack-c's C runtime library (Debian's libmsgpackc2)")
  if(NOT SHARR_MSGPACKC_LIBRARY)
    message(FATAL_ERROR "libmsgpackc.so.2 not found: install libmsgpackc2 (scripts/deps.sh does)")
  endif()
  target_include_directories(sharr_msgpack SYSTEM INTERFACE "${SHARR_MSGPACK_HEADERS}")
  target_link_libraries(sharr_msgpack INTERFACE "${SHARR_MSGPACKC_LIBRARY}")
  message(STATUS "msgpack-c: headers in ${SHARR_MSGPACK_HEADERS}, library ${SHARR_MSGPACKC_LIBRARY}")
else()
  pkg_check_modules(MSGPACK IMPORTED_TARGET msgpack)
  if(NOT MSGPACK_FOUND)
    message(FATAL_ERROR "msgpack-c's C headers not found. Either install libmsgpack-dev "
      "(pkg-config msgpack; it pulls msgpack's C++ library and Boost), or run "
      "scripts/deps.sh, which installs libmsgpackc2 and unpacks libmsgpack-dev's headers "
      "without installing it, and pass the option it prints, -DSHARR_MSGPACK_HEADERS=DIR.")
  endif()
  target_link_libraries(sharr_msgpack INTERFACE PkgConfig::MSGPACK)
endif()
