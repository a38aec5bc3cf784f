"""Counts down from 10 and shows an ASCII explosion, like the shabunble guide's app."""

import argparse
import os
import sys
import time

EXPLOSION = r"""
       _ ._  _ , _ ._
     (_ ' ( `  )_  .__)
   ( (  (    )   `)  ) _)
  (__ (_   (_ . _) _) ,__)
      `~~`\ ' . /`~~`
           ;   ;
           /   \
 _________/_ __ \_________
        B O O M !
"""


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loops", type=int, default=0, help="how many countdowns; 0 runs forever")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between counts")
    args, extra = parser.parse_known_args(argv)
    if extra:
        print(f"boom: ignoring extra arguments {extra}", file=sys.stderr)
    greeting = os.environ.get("GREETING")
    if greeting:
        print(greeting)
    loop = 0
    while args.loops == 0 or loop < args.loops:
        for n in range(10, 0, -1):
            print(n, flush=True)
            time.sleep(args.delay)
        print(EXPLOSION, flush=True)
        loop += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
