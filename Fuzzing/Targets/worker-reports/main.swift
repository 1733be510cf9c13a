import FuzzDriver

runFuzzer("worker-reports")
