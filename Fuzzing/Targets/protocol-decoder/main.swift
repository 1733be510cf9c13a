import FuzzDriver

runFuzzer("protocol-decoder")
