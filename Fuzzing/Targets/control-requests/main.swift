import FuzzDriver

runFuzzer("control-requests")
