import FuzzDriver

runFuzzer("virtqueue")
