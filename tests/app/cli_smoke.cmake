# hyenadesk mkmodel writes a sharded checkpoint; model-info reads it back and describes it.
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${HYENADESK}" mkmodel --preset tiny --seed 7 --shard-mb 1 --out "${WORK_DIR}/tiny"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mkmodel failed (${rc}): ${out}${err}")
endif()
execute_process(COMMAND "${HYENADESK}" model-info "${WORK_DIR}/tiny" --context 2048
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "model-info failed (${rc}): ${out}${err}")
endif()
foreach(expected "4 \\(2 Hyena, 2 attention\\): HAHA" "at 2048 tokens: KV cache" "shard\\(s\\)")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "model-info output lacks '${expected}':\n${out}")
  endif()
endforeach()
# A missing folder is an error with the path in it, not a crash.
execute_process(COMMAND "${HYENADESK}" model-info "${WORK_DIR}/absent" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "absent")
  message(FATAL_ERROR "model-info on a missing folder: rc=${rc}, stderr=${err}")
endif()
message(STATUS "${out}")
