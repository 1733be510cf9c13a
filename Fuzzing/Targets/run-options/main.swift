import FuzzDriver

runFuzzer("run-options")
