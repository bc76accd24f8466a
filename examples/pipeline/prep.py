"""Step 1: every CSV file of a folder into one pickle of rows of numbers."""
import csv
import glob
import pickle
import sys

src, out = sys.argv[1], sys.argv[2]
rows = []
for path in sorted(glob.glob(src + "/*.csv")):
    with open(path, newline="") as f:
        rows += [[float(x) for x in row] for row in csv.reader(f) if row]
with open(out, "wb") as f:
    pickle.dump(rows, f)
print(f"prep: {len(rows)} rows", file=sys.stderr)
