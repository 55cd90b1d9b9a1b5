def write_benchmarks(results, machine, when):
    import json

    print(json.dumps(results, indent=1, default=str))
