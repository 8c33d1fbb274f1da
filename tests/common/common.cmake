# Shared C helpers of the ops and models tests (compare, npy reference reader, run sets).
# Included by tests/ops and tests/models; defines the target once.
if(NOT TARGET octet_testcommon)
  add_library(octet_testcommon STATIC
    ${CMAKE_CURRENT_LIST_DIR}/compare.c
    ${CMAKE_CURRENT_LIST_DIR}/npy_ref.c
    ${CMAKE_CURRENT_LIST_DIR}/runset.c)
  target_include_directories(octet_testcommon PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(octet_testcommon PUBLIC octet_static)
endif()
