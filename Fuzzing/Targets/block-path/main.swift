import FuzzDriver

runFuzzer("block-path")
