#!/usr/bin/env python3
"""Deterministic declaration generator for levy's benchmarks.

    python3 Benchmarks/generate.py --rows 1000000 --format csv --out Benchmarks/data/big.csv
    python3 Benchmarks/generate.py --rows 1000000 --format xml --out Benchmarks/data/big.xml
    python3 Benchmarks/generate.py --files 20000 --rows 50 --out-root Benchmarks/data/root   # many small employers
    python3 Benchmarks/generate.py --camt054 500000 --amount-fen 205200 --out Benchmarks/data/camt.xml  # a bank notification

Valid resident IDs and credit codes, Chinese names, a realistic wage spread (log-normal around
7,000 yuan, some below the floor and above the ceiling), about 2 % A rows. Same seed, same bytes.
"""
import argparse, datetime, os, random, shutil

BIRTH0 = datetime.date(1960, 1, 1)

ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UW = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
PW = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"

def uscc(body17):
    s = sum(ALPHA.index(c) * w for c, w in zip(body17, UW))
    return body17 + ALPHA[(31 - s % 31) % 31]

def person_id(rng, n):
    # Distinct for every n below 10^3 x 20,000 days: born on day n // 1000 after 1960-01-01,
    # sequence n % 1000; the area varies but is not needed for uniqueness.
    area = rng.choice(["370102", "370103", "110105", "440524", "310104", "320106"])
    born = BIRTH0 + datetime.timedelta(days=(n // 1000) % 20000)
    body = f"{area}{born:%Y%m%d}{n % 1000:03d}"
    s = sum(int(c) * w for c, w in zip(body, PW))
    return body + "10X98765432"[s % 11]

def unique_ids(rng, count, offset):
    for i in range(offset, offset + count):
        yield person_id(rng, i)

def wage(rng):
    w = rng.lognormvariate(8.85, 0.45)
    return f"{min(max(w, 3000), 60000):.2f}"

def name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))

def rows(rng, count, offset=0):
    for pid in unique_ids(rng, count, offset):
        change = "A" if rng.random() < 0.02 else ""
        base = wage(rng)
        if float(base) < 4590:
            base = "4590.00"   # keep the benchmark files valid: below-floor rows would reject the whole file
        yield pid, name(rng), base, change

def write_csv(path, employer, period, count, rng, offset=0):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("employer_id,period,person_id,name,wage_base,change\n")
        for pid, nm, base, ch in rows(rng, count, offset):
            f.write(f"{employer},{period},{pid},{nm},{base},{ch}\n")

def write_xml(path, employer, period, count, rng):
    data = list(rows(rng, count))
    total = sum(int(round(float(b) * 100)) for _, _, b, _ in data)
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Declaration xmlns="urn:levy:declaration:1">\n')
        f.write(f"  <EmployerId>{employer}</EmployerId>\n  <Period>{period}</Period>\n")
        f.write(f"  <Headcount>{len(data)}</Headcount>\n  <TotalWageBase>{total // 100}.{total % 100:02d}</TotalWageBase>\n  <Persons>\n")
        for pid, nm, base, ch in data:
            attr = f' change="{ch}"' if ch else ""
            f.write(f"    <Person{attr}><Id>{pid}</Id><Name>{nm}</Name><WageBase>{base}</WageBase></Person>\n")
        f.write("  </Persons>\n</Declaration>\n")

def employer_code(i):
    return uscc(f"9137{i:07d}MA3C5X"[:17])

def write_camt054(path, employer, period, n, amount_fen, batch=False):
    """One notification of the agency's ICBC01 account: n booked credits, one per debited declaration —
    an entry each, or (batch) one entry holding them all, as a bank books a collection."""
    amount = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    compact = period.replace("-", "")
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">\n'
                '<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>BENCH-CAMT</MsgId><CreDtTm>2026-11-07T18:00:00</CreDtTm></GrpHdr>\n'
                '<Ntfctn><Id>BENCH-CAMT-1</Id><CreDtTm>2026-11-07T18:00:00</CreDtTm>'
                '<Acct><Id><Othr><Id>1602000000000001</Id></Othr></Id></Acct>\n')
        tx = lambda i: (f'<TxDtls><Refs><EndToEndId>{employer}-{compact}-{i:06d}</EndToEndId></Refs><AmtDtls><TxAmt>'
                        f'<Amt Ccy="CNY">{amount}</Amt></TxAmt></AmtDtls></TxDtls>')
        head = lambda total: (f'<Ntry><Amt Ccy="CNY">{total // 100}.{total % 100:02d}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
                              f'<BookgDt><Dt>2026-11-07</Dt></BookgDt><BkTxCd/><NtryDtls>')
        if batch:
            f.write(head(n * amount_fen) + "\n")
            for i in range(1, n + 1):
                f.write(tx(i) + "\n")
            f.write('</NtryDtls></Ntry>\n')
        else:
            for i in range(1, n + 1):
                f.write(head(amount_fen) + tx(i) + '</NtryDtls></Ntry>\n')
        f.write('</Ntfctn></BkToCstmrDbtCdtNtfctn>\n</Document>\n')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--format", choices=["csv", "xml"], default="csv")
    ap.add_argument("--out")
    ap.add_argument("--files", type=int, default=0)
    ap.add_argument("--out-root")
    ap.add_argument("--employer", default="91370100MA3C5X123P")
    ap.add_argument("--period", default="2026-11")
    ap.add_argument("--seed", type=int, default=20261110)
    ap.add_argument("--camt054", type=int, default=0, help="entries of a camt.054 crediting <employer>-<period>-000001…")
    ap.add_argument("--amount-fen", type=int, default=205200)
    ap.add_argument("--batch", action="store_true", help="camt054: one entry holding every transaction")
    a = ap.parse_args()
    if a.camt054:
        write_camt054(a.out, a.employer, a.period, a.camt054, a.amount_fen, a.batch)
        return
    rng = random.Random(a.seed)
    if a.files:
        root = a.out_root
        os.makedirs(os.path.join(root, "Rules"), exist_ok=True)
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for f in ["levy.yaml", "calendar.yaml", "banks.yaml", "declaration.xsd"]:
            shutil.copy(os.path.join(repo, "Rules", f), os.path.join(root, "Rules", f))
        with open(os.path.join(root, "Rules", "employers.csv"), "w", encoding="utf-8") as reg:
            reg.write("employer_id,name,risk_class,bank_code,account,mandate_id,mandate_signed\n")
            for i in range(a.files):
                code = employer_code(i)
                reg.write(f"{code},单位{i},{i % 8 + 1},ICBC01,6222{i:015d},M-{i},2025-01-01\n")
                folder = os.path.join(root, "Inbox", "declarations", code)
                os.makedirs(folder, exist_ok=True)
                write_csv(os.path.join(folder, "decl.csv"), code, a.period, a.rows, rng, offset=i * a.rows * 3)
        return
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if a.format == "csv":
        write_csv(a.out, a.employer, a.period, a.rows, rng)
    else:
        write_xml(a.out, a.employer, a.period, a.rows, rng)

if __name__ == "__main__":
    main()
