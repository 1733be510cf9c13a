import FuzzDriver

runFuzzer("helper-arguments")
