#!/bin/sh
# The pipeline of the README's "Pipelines" section, from cron:
#   0 2 * * * cd /srv/pipeline && ALPHA=0.5 ./nightly.sh
set -e
pickled run -i 'raw/*.csv' -i prep.py -o data.pkl -- python3 prep.py raw data.pkl
pickled run -e ALPHA -i data.pkl -i train.py -o model.pkl -- python3 train.py data.pkl model.pkl
pickled run -i model.pkl -i report.py -- python3 report.py model.pkl
