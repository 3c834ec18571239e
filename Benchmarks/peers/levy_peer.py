#!/usr/bin/env python3
"""The script an agency's analyst would write: the same checks and arithmetic as `levy run` on one
CSV declaration (csv module + sqlite3), used as the peer in levy's benchmark.

    python3 Benchmarks/peers/levy_peer.py FILE.csv [--db /tmp/peer.sqlite] [--risk-class 1]
    python3 Benchmarks/peers/levy_peer.py --root ROOT     # every Inbox/declarations/<employer>/*.csv of a root

With --root each file is checked, its roster committed (sqlite3, one transaction per file), a receipt
written durably (temp, fsync, rename) and the file moved to an archive folder: what levy does per
file, done the plain way.

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

def check_file(path, today, rates):
    """Rows, errors, headcount, total base, per-insurance totals and the roster batch of one file."""
    totals = {k: [0, 0] for k in rates}
    seen, errors, rows, headcount, total_base = set(), 0, 0, 0, 0
    batch = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
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
    return rows, errors, headcount, total_base, totals, batch

def run_root(root, risk_class):
    import json
    db_path = os.path.join(root, "peer.sqlite")
    if os.path.exists(db_path):
        os.remove(db_path)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE roster (file TEXT, person_id TEXT, base_fen INTEGER, change TEXT, PRIMARY KEY(file, person_id))")
    db.execute("CREATE TABLE declarations (file TEXT PRIMARY KEY, headcount INTEGER, total_fen INTEGER)")
    today = datetime.date(2026, 11, 22)
    with open(os.path.join(root, "Rules", "employers.csv"), encoding="utf-8") as f:
        risk = {r["employer_id"]: int(r["risk_class"]) for r in csv.DictReader(f)}
    inbox = os.path.join(root, "Inbox", "declarations")
    files, grand = 0, 0
    for employer in sorted(os.listdir(inbox)):
        for name in sorted(os.listdir(os.path.join(inbox, employer))):
            path = os.path.join(inbox, employer, name)
            rates = dict(RATES, work_injury=(INJURY[risk.get(employer, risk_class)], (0, 1)))
            rows, errors, headcount, total_base, totals, batch = check_file(path, today, rates)
            total = sum(a + b for a, b in totals.values())
            key = employer + "/" + name
            db.executemany("INSERT INTO roster VALUES (?,?,?,?)", [(key,) + b for b in batch])
            db.execute("INSERT INTO declarations VALUES (?,?,?)", (key, headcount, total))
            db.commit()
            out_dir = os.path.join(root, "Outbox", "receipts", employer)
            os.makedirs(out_dir, exist_ok=True)
            receipt = os.path.join(out_dir, name + ".json")
            with open(receipt + ".tmp", "w") as f:
                json.dump({"file": name, "headcount": headcount, "total_fen": total, "errors": errors}, f)
                f.flush()
                os.fsync(f.fileno())
            os.rename(receipt + ".tmp", receipt)
            archive = os.path.join(root, "archive", employer)
            os.makedirs(archive, exist_ok=True)
            os.rename(path, os.path.join(archive, name))
            files += 1
            grand += total
    print(f"files={files} total_fen={grand}")

def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--root":
        run_root(sys.argv[2], 1)
        return
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
    rows, errors, headcount, total_base, totals, batch = check_file(a.file, today, rates)
    db.executemany("INSERT INTO roster VALUES (?,?,?)", batch)
    db.commit()
    employer = sum(v[0] for v in totals.values())
    employee = sum(v[1] for v in totals.values())
    print(f"rows={rows} errors={errors} headcount={headcount} total_base_fen={total_base} "
          f"employer_fen={employer} employee_fen={employee} total_fen={employer + employee}")

if __name__ == "__main__":
    main()
