"""What is timed: each implementation's training loop (bench_training), the pieces of an epoch (bench_overheads)
and the loops at growing sizes (bench_sweep); loops.py is what every loop benchmark does around its timed rounds."""
