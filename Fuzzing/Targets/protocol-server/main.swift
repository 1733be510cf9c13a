import FuzzDriver

runFuzzer("protocol-server")
