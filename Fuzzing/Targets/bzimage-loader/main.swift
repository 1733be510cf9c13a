import FuzzDriver

runFuzzer("bzimage-loader")
