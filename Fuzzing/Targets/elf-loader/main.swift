import FuzzDriver

runFuzzer("elf-loader")
