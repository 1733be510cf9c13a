import FuzzDriver

runFuzzer("helper-config-file")
