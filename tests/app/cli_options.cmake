# Every command's options are the ones its usage names: --help prints it and exits 0, an unknown
# option or an out-of-range value is an error (exit 2) that names it, and the options a command
# really reads are accepted.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/docs")
file(WRITE "${WORK_DIR}/docs/a.md" "# A\n\nThe pump in hall 2 was serviced on Monday.\n")
function(expect rc_want pattern)
  execute_process(COMMAND "${HYENADESK}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL ${rc_want} OR NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "hyenadesk ${ARGN}: rc=${rc} (wanted ${rc_want}), output lacks '${pattern}':\n${out}${err}")
  endif()
endfunction()
foreach(cmd version doctor mkmodel models generate ingest search ask summarize chat docs model-info)
  expect(0 "usage: ${cmd}" ${cmd} --help)
endforeach()
expect(2 "unknown option --no-embd" ingest "${WORK_DIR}/docs" --store "${WORK_DIR}/store" --no-embd)
expect(2 "unknown option -x" search "pump" -x --store "${WORK_DIR}/store")
expect(2 "--chunk-tokens takes 16 to 8192 tokens, got 0" ingest "${WORK_DIR}/docs" --store "${WORK_DIR}/store" --chunk-tokens 0)
expect(2 "--chunk-tokens takes 16 to 8192 tokens, got -1" ingest "${WORK_DIR}/docs" --store "${WORK_DIR}/store" --chunk-tokens -1)
# Accepted: the options these commands read (the store stays usable afterwards).
expect(0 "1 new" ingest "${WORK_DIR}/docs" --store "${WORK_DIR}/store" --no-embed --chunk-tokens=64 --wait --prune)
expect(0 "pump" search "pump" -k 3 --store "${WORK_DIR}/store" --no-embed --embed-device cpu)
