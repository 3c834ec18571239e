#!/usr/bin/env python3
"""The script an agency's analyst would write: the same checks and arithmetic as `levy run` on one
CSV declaration (csv module + sqlite3), used as the peer in levy's benchmark.

    python3 Benchmarks/peers/levy_peer.py FILE.csv [--db /tmp/peer.sqlite] [--risk-class 1]

Prints rows, errors, headcount and totals in fen (the benchmark runner compares them with levy's receipt).
"""
import csv, sqlite3, sys, os, datetime, argparse

PW = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
FLOOR, CEIL = 459000, 2295000
# (numerator, denominator) per insurance: employer, employee
RATES = {"pension": ((16, 100), (8, 100)), "medical": ((7, 100), (2, 100)), "unemployment": ((7, 1000), (3, 1000)),
         "maternity": ((0, 1), (0, 1))}
INJURY = {1: (2, 1000), 2: (4, 1000), 3: (7, 1000), 4: (9, 1000), 5: (11, 1000), 6: (13, 1000), 7: (15, 1000), 8: (19, 1000)}

def half_up(num, den):
    q, r = divmod(num, den)
    return q + (1 if 2 * r >= den else 0)

def valid_id(pid, today):
    if len(pid) != 18 or not pid[:17].isdigit():
        return False
    last = pid[17].upper()
    if CHECK[sum(int(c) * w for c, w in zip(pid[:17], PW)) % 11] != last:
        return False
    try:
        return datetime.date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14])) <= today
    except ValueError:
        return False

def fen(text):
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        return None
    return int(whole) * 100 + int((frac + "00")[:2])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--db", default="/tmp/levy-peer.sqlite")
    ap.add_argument("--risk-class", type=int, default=1)
    a = ap.parse_args()
    if os.path.exists(a.db):
        os.remove(a.db)
    db = sqlite3.connect(a.db)
    db.execute("CREATE TABLE roster (person_id TEXT PRIMARY KEY, base_fen INTEGER, change TEXT)")
    today = datetime.date(2026, 11, 22)
    rates = dict(RATES, work_injury=(INJURY[a.risk_class], (0, 1)))
    totals = {k: [0, 0] for k in rates}
    seen, errors, rows, headcount, total_base = set(), 0, 0, 0, 0
    batch = []
    with open(a.file, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            rows += 1
            pid = row["person_id"]
            ok = valid_id(pid, today)
            base = fen(row["wage_base"]) if row["change"] != "R" else 0
            if not ok or base is None or pid in seen:
                errors += 1
                continue
            seen.add(pid)
            if row["change"] != "R":
                if base < FLOOR:
                    errors += 1
                    continue
                base = min(base, CEIL)
                headcount += 1
                total_base += base
                for k, ((en, ed), (pn, pd)) in rates.items():
                    totals[k][0] += half_up(base * en, ed)
                    totals[k][1] += half_up(base * pn, pd)
            batch.append((pid, base, row["change"]))
    db.executemany("INSERT INTO roster VALUES (?,?,?)", batch)
    db.commit()
    employer = sum(v[0] for v in totals.values())
    employee = sum(v[1] for v in totals.values())
    print(f"rows={rows} errors={errors} headcount={headcount} total_base_fen={total_base} "
          f"employer_fen={employer} employee_fen={employee} total_fen={employer + employee}")

if __name__ == "__main__":
    main()
