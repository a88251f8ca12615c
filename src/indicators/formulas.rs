//! The formulas of the respondent-level indicators: VNG's `recode.R`, `ss_recode.R` and
//! `typology.R` (VNG-Realisatie/Burgerpeiling, `R/SRC/`, commit ccec9ed850), with their NA
//! semantics, on whole columns.
//!
//! Inside this module a value is an `f64` and a missing value is NaN, because that is how R
//! behaves here: `mean(na.rm = TRUE)` skips NA and NaN but keeps `Inf`, `min(na.rm = TRUE)` of
//! nothing is `Inf`, and `ss_recode.R` turns NaN and Inf into NA only at the very end, so an
//! `Inf` of an intermediate (an empty `bep_dim*`) makes the scores built on it missing. This
//! module must not read Arrow or the codebook and must not decide the 2019 rule: it gets clean
//! item columns (dk and -1/88/99 already missing) and returns every indicator.

use std::collections::BTreeMap;

/// The frozen typology breaks (the SPSS constants, equal to VNG's `optbin` result of
/// 2024-12-04): right-closed bins, the lowest including minus infinity.
pub const QOL_BREAKS: [f64; 4] = [3.0, 4.0, 6.0, 7.0];
pub const PART_BREAKS: [f64; 4] = [1.0, 3.0, 4.0, 7.0];

type Col = Vec<f64>;
const NA: f64 = f64::NAN;

/// Clean item columns by name; an item a delivery lacks is all missing.
pub struct ItemColumns<'a> {
    pub rows: usize,
    /// An item's clean column, NaN for missing; `None` when the year has no such item. A
    /// column is decoded when asked for, so the caller need not hold every item at once.
    pub column: &'a dyn Fn(&str) -> Option<Col>,
}

impl ItemColumns<'_> {
    fn get(&self, name: &str) -> Col {
        (self.column)(name).unwrap_or_else(|| vec![NA; self.rows])
    }
}

fn b(cond: bool) -> f64 {
    if cond { 1.0 } else { 0.0 }
}

/// Element-wise map; a missing input stays missing.
fn map(x: &[f64], f: impl Fn(f64) -> f64) -> Col {
    x.iter().map(|&v| if v.is_nan() { NA } else { f(v) }).collect()
}

/// R's nested `ifelse(x == a, b, ...)`: a code outside the table is missing.
fn rc(x: &[f64], table: &[(f64, f64)]) -> Col {
    x.iter().map(|&v| table.iter().find(|(from, _)| *from == v).map_or(NA, |(_, to)| *to)).collect()
}

fn isin(x: &[f64], codes: &[f64]) -> Col {
    map(x, |v| b(codes.contains(&v)))
}

fn agree4(x: &[f64]) -> Col {
    rc(x, &[(1.0, 4.0), (2.0, 3.0), (3.0, 2.0), (4.0, 1.0), (5.0, 0.0)])
}

fn freq3(x: &[f64]) -> Col {
    rc(x, &[(1.0, 4.0), (2.0, 3.0), (3.0, 0.0)])
}

fn bep_w(x: &[f64]) -> Col {
    rc(x, &[(1.0, 4.0), (2.0, 3.0), (3.0, 2.0), (4.0, 0.0)])
}

/// Row-wise `mean(c(...), na.rm = TRUE)`: NaN when nothing is valid, `Inf` kept.
fn rmean(cols: &[&[f64]]) -> Col {
    rows(cols, |v| {
        let valid: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        if valid.is_empty() { NA } else { valid.iter().sum::<f64>() / valid.len() as f64 }
    })
}

/// Row-wise `sum(..., na.rm = TRUE)`: 0 when everything is missing.
fn rsum(cols: &[&[f64]]) -> Col {
    rows(cols, |v| v.iter().filter(|x| !x.is_nan()).sum())
}

/// Row-wise `min(c(...), na.rm = TRUE)`: `Inf` when everything is missing.
fn rmin(cols: &[&[f64]]) -> Col {
    rows(cols, |v| v.iter().copied().filter(|x| !x.is_nan()).fold(f64::INFINITY, f64::min))
}

fn rows(cols: &[&[f64]], f: impl Fn(&[f64]) -> f64) -> Col {
    let n = cols.first().map_or(0, |c| c.len());
    let mut buf = Vec::with_capacity(cols.len());
    (0..n)
        .map(|i| {
            buf.clear();
            buf.extend(cols.iter().map(|c| c[i]));
            f(&buf)
        })
        .collect()
}

/// R's `ifelse(a == 1 | b == 1 | ..., 1, ifelse(<all missing>, NA, 0))` where a missing
/// condition makes the outer `ifelse` missing: 1 if any is 1, else missing if any is missing,
/// else 0.
fn any_one(cols: &[&[f64]]) -> Col {
    rows(cols, |v| {
        if v.contains(&1.0) {
            1.0
        } else if v.iter().any(|x| x.is_nan()) {
            NA
        } else {
            0.0
        }
    })
}

fn scale(x: Col, factor: f64) -> Col {
    x.into_iter().map(|v| v * factor).collect()
}

/// `case_when` of `recode.R` for a "now x future" participation combination: missing parts
/// make every condition false, which falls through to 0.
fn combo(now: &[f64], future: &[f64]) -> Col {
    now.iter()
        .zip(future)
        .map(|(&n, &f)| match (n, f) {
            (n, f) if n < 3.0 && f < 3.0 => 1.0,
            (n, f) if n < 3.0 && f == 3.0 => 2.0,
            (n, f) if n == 3.0 && f < 3.0 => 3.0,
            (n, f) if n == 3.0 && f == 3.0 => 4.0,
            _ => 0.0,
        })
        .collect()
}

/// Right-closed bin of a score with the frozen breaks: 1 up to the first break, 5 above the last.
pub fn bin(score: f64, breaks: &[f64; 4]) -> f64 {
    if score.is_nan() { NA } else { 1.0 + breaks.iter().filter(|t| score > **t).count() as f64 }
}

/// All indicators by name, still with R's NaN and Inf (see the module doc).
pub type Computed = BTreeMap<&'static str, Col>;

/// Computes every indicator of `definitions::DEFINITIONS` from clean item columns.
pub fn compute(items: &ItemColumns) -> Computed {
    let mut s: Computed = BTreeMap::new();
    participation(items, &mut s);
    limitations(items, &mut s);
    wellbeing(items, &mut s);
    scales(items, &mut s);
    composites(items, &mut s);
    typology(&mut s);
    s
}

fn participation(it: &ItemColumns, s: &mut Computed) {
    let g = |n: &str| it.get(n);
    s.insert("act_neigh", map(&g("wl13"), |v| b(v == 1.0)));
    let (a, c) = (g("zw06_0"), g("zw06_2"));
    let act_mz = a
        .iter()
        .zip(&c)
        .map(|(&a, &c)| match () {
            _ if a == 1.0 || c == 1.0 => 1.0,
            _ if a.is_nan() || c.is_nan() => NA,
            _ => b(a == 2.0 || c == 2.0),
        })
        .collect();
    s.insert("act_mz", act_mz);
    let vaak = a
        .iter()
        .zip(&c)
        .map(|(&a, &c)| match () {
            _ if a.is_nan() => NA,
            _ if a == 1.0 => 1.0,
            _ if c.is_nan() => NA,
            _ => b(c == 1.0),
        })
        .collect();
    s.insert("act_mz_vaak", vaak);
    s.insert("act_hlp", isin(&g("zw06_1"), &[1.0, 2.0]));
    s.insert("act_zw", isin(&c, &[1.0, 2.0]));
    s.insert("act_vw", isin(&g("zw06_3"), &[1.0, 2.0]));
    s.insert("act_ver", map(&g("zw05_4"), |v| b(v != 1.0)));
    let ch04 = g("ch04");
    s.insert("act_opl", map(&ch04, |v| b(v == 8.0)));
    s.insert("act_arb", map(&ch04, |v| b(v < 4.0)));
    s.insert("act_soc", map(&g("zw03"), |v| b(v == 1.0)));
    let act_ih = any_one(&[&s["act_mz"], &s["act_zw"]]);
    s.insert("act_ih", act_ih);
    s.insert("zw05_rc", map(&g("zw05_4"), |v| if v == 0.0 { 1.0 } else { NA }));
    s.insert("part_brt", combo(&g("wl13"), &g("wl14")));
    s.insert("part_vw", combo(&g("zw06_3"), &g("zw07")));
    let lft = rc(&g("ch02"), &[(1.0, 1.0), (2.0, 1.0), (3.0, 2.0), (4.0, 2.0), (5.0, 3.0), (6.0, 4.0)]);
    s.insert("lft_cy", lft);
}

const BEP: [(&str, &str); 7] = [
    ("bep_gez", "zw01_0"),
    ("bep_fys", "zw01_1"),
    ("bep_men", "zw01_2"),
    ("bep_cul", "zw01_3"),
    ("bep_ink", "zw01_4"),
    ("bep_uit", "zw01_5"),
    ("bep_and", "zw01_6"),
];

fn limitations(it: &ItemColumns, s: &mut Computed) {
    for (name, item) in BEP {
        s.insert(name, isin(&it.get(item), &[3.0, 4.0]));
    }
    let zw09 = it.get("zw09");
    let mz_ob = s["act_mz"]
        .iter()
        .zip(&zw09)
        .map(|(&mz, &z)| if mz == 1.0 && !z.is_nan() { b(z == 3.0 || z == 4.0) } else { NA })
        .collect();
    s.insert("mz_ob", mz_ob);
    let mb_soc = rsum(&[&s["bep_men"], &s["bep_cul"], &s["bep_ink"], &s["bep_uit"], &s["mz_ob"]]);
    s.insert("bep_soc", map(&mb_soc, |v| b(v > 0.0)));
    s.insert("bep_soc_neg", map(&mb_soc, |v| b(v <= 0.0)));
    s.insert("mb_soc", mb_soc);
    let mb_fys = rsum(&[&s["bep_gez"], &s["bep_fys"], &s["bep_and"]]);
    s.insert("bep_lich", map(&mb_fys, |v| b(v > 0.0)));
    s.insert("bep_lich_neg", map(&mb_fys, |v| b(v <= 0.0)));
    s.insert("mb_fys", mb_fys);
    let all: Vec<&[f64]> = BEP.iter().map(|(n, _)| s[n].as_slice()).chain([s["mz_ob"].as_slice()]).collect();
    let mb = rsum(&all);
    s.insert("mb_neg", map(&mb, |v| b(v <= 0.0)));
    s.insert("mb_hv", map(&mb, |v| b(v > 1.0)));
    s.insert("mb", mb);
}

fn wellbeing(it: &ItemColumns, s: &mut Computed) {
    let g = |n: &str| it.get(n);
    s.insert("health", map(&g("zw02"), |v| b(v >= 6.0)));
    s.insert("pleasant_neigh", map(&g("wl01"), |v| b(v >= 6.0)));
    s.insert("gelukkig", map(&g("zw00"), |v| b(v > 6.0)));
    s.insert("safeguard_fam", map(&g("zw10_0"), |v| b(v < 3.0)));
    s.insert("safeguard_friend", map(&g("zw10_2"), |v| b(v < 3.0)));
    s.insert("safeguard_neigh", map(&g("zw10_1"), |v| b(v < 3.0)));
    let safeguard = any_one(&[&s["safeguard_fam"], &s["safeguard_neigh"], &s["safeguard_friend"]]);
    s.insert("safeguard", safeguard);
    // R: `ifelse(zw04 < 3, 0, ifelse(zw04 == 5, NA, ...))`; 5 (dk) is already missing here.
    let zw04 = g("zw04");
    let by_zw04 = |low: f64, low_value: f64| map(&zw04, move |v| if v < low { low_value } else { 1.0 - low_value });
    s.insert("alone", by_zw04(3.0, 0.0));
    s.insert("alone_full", by_zw04(2.0, 0.0));
    s.insert("alone_neg", by_zw04(3.0, 1.0));
    let names = ["sv_0", "sv_1", "sv_2", "sv_3", "sv_4"];
    for (k, name) in names.iter().enumerate() {
        s.insert(name, map(&g(&format!("zw19_{k}")), |v| b(v < 3.0)));
    }
    let sv = rsum(&names.iter().map(|n| s[n].as_slice()).collect::<Vec<_>>());
    s.insert("sv_pos", map(&sv, |v| b(v > 2.0)));
    s.insert("sv", sv);
}

/// `ses_ss` and `bereid_ss` (with `hlp_wei`).
fn status_and_willingness(it: &ItemColumns, s: &mut Computed) {
    let g = |n: &str| it.get(n);
    let ch03 = rc(&g("ch03"), &[(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 3.0), (5.0, 4.0), (6.0, 5.0)]);
    let ch06 = rc(&g("ch06"), &[(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 3.0), (5.0, 4.0), (6.0, 5.0)]);
    let ch04 = map(&g("ch04"), |v| match v {
        1.0 => 4.0,
        2.0 => 3.0,
        3.0 => 5.0,
        4.0 => 0.0,
        5.0 => 2.0,
        v if v > 5.0 => 2.0,
        _ => NA,
    });
    let zw01_4 = rc(&g("zw01_4"), &[(1.0, 5.0), (2.0, 4.0), (3.0, 2.0), (4.0, 0.0)]);
    s.insert("ses_ss", scale(rmean(&[&ch03, &ch06, &ch04, &zw01_4]), 6.0 / 3.0));

    let (zw13_9, zw13_10) = (g("zw13_9"), g("zw13_10"));
    let hlp_wei = (0..it.rows)
        .map(|i| {
            let (a, c, hlp) = (zw13_9[i], zw13_10[i], s["act_hlp"][i]);
            // R: `zw13_9 == 1 | zw13_10 == 1` is NA, not FALSE, when neither is ticked and
            // one is missing, and then the whole `ifelse` is NA.
            if a == 1.0 || c == 1.0 {
                0.0
            } else if a.is_nan() || c.is_nan() || hlp.is_nan() {
                NA
            } else if hlp == 0.0 {
                2.0
            } else if hlp > 0.0 {
                4.0
            } else {
                NA
            }
        })
        .collect::<Col>();
    let will = |n: &str| rc(&g(n), &[(1.0, 4.0), (2.0, 2.0), (3.0, 0.0)]);
    s.insert("bereid_ss", scale(rmean(&[&will("wl14"), &will("zw07"), &hlp_wei]), 5.0 / 2.0));
    s.insert("hlp_wei", hlp_wei);
}

fn scales(it: &ItemColumns, s: &mut Computed) {
    let g = |n: &str| it.get(n);
    let a4 = |n: &str| agree4(&g(n));
    let agree_mean = |names: &[&str], factor: f64| {
        let cols: Vec<Col> = names.iter().map(|n| a4(n)).collect();
        scale(rmean(&cols.iter().map(|c| c.as_slice()).collect::<Vec<_>>()), factor)
    };
    status_and_willingness(it, s);
    let samen = [a4("wl03_1"), a4("wl12_0"), freq3(&g("wl13")), freq3(&g("zw06_1")), freq3(&g("zw10_1"))];
    s.insert("samenredzaam_ss", scale(rmean(&samen.iter().map(|c| c.as_slice()).collect::<Vec<_>>()), 10.0 / 4.0));

    let deficit = rc(&g("zw03"), &[(1.0, 10.0), (2.0, 5.0), (3.0, 0.0)]);
    let alone_ss = rc(&g("zw04"), &[(1.0, 10.0), (2.0, 8.0), (3.0, 6.0), (4.0, 0.0)]);
    let zw01_5 = rc(&g("zw01_5"), &[(1.0, 5.0), (2.0, 4.0), (3.0, 2.0), (4.0, 0.0)]);
    s.insert("socrel_ss", rmean(&[&deficit, &alone_ss, &zw01_5]));
    s.insert("alone_ss", alone_ss);
    let net = |n: &str| rc(&g(n), &[(1.0, 10.0), (2.0, 5.0), (3.0, 0.0)]);
    s.insert("vangnet_ss", rmean(&[&net("zw10_0"), &net("zw10_1")]));
    let wl04 = rc(&g("wl04"), &[(1.0, 8.0), (2.0, 6.0), (3.0, 4.0), (4.0, 2.0), (5.0, 0.0)]);
    let wl05 = rc(&g("wl05"), &[(1.0, 0.0), (2.0, 2.0), (3.0, 4.0), (4.0, 6.0), (5.0, 8.0)]);
    let wl06 = rc(&g("wl06"), &[(1.0, 0.0), (2.0, 2.0), (3.0, 4.0), (4.0, 6.0)]);
    s.insert("safe_ss", scale(rmean(&[&wl04, &wl05, &wl06]), 5.0 / 4.0));
    s.insert("fk_ss", agree_mean(&["wl07_0", "wl07_1", "wl08_0", "wl08_1", "vz01_0"], 35.0 / 14.0));
    let voorz = ["vz01_0", "vz03_5", "vz03_6", "vz03_0", "vz03_1", "vz03_2", "vz03_3", "vz03_4"];
    s.insert("voorzieningen_ss", agree_mean(&voorz, 35.0 / 14.0));
    let verbonden = ["wl02_0", "wl02_1", "wl02_2", "wl03_0", "wl03_1", "wl03_2"];
    s.insert("verbonden_ss", agree_mean(&verbonden, 10.0 / 4.0));
    s.insert("trust_ss", rc(&g("bo01"), &[(1.0, 10.0), (2.0, 8.0), (3.0, 6.0), (4.0, 4.0), (5.0, 2.0)]));
    let bob = ["bo02_0", "bo02_1", "bo02_2", "bo03_0", "bo03_1", "wl12_0", "wl12_2"];
    s.insert("betrouwbaar_ss", agree_mean(&bob, 10.0 / 4.0));
    s.insert("sv_ss", agree_mean(&["zw19_0", "zw19_1", "zw19_2", "zw19_3", "zw19_4"], 35.0 / 14.0));
    let host = ["mm01_0", "mm01_1", "mm01_2", "mm01_3", "mm01_4", "mm02_0"];
    s.insert("hostman_ss", agree_mean(&host, 10.0 / 4.0));
    participation_scale(it, s);
    let dim = |names: &[&str]| {
        rmin(&names.iter().map(|n| bep_w(&g(n))).collect::<Vec<_>>().iter().map(|c| c.as_slice()).collect::<Vec<_>>())
    };
    let dim1 = dim(&["zw01_0", "zw01_1", "zw01_6"]);
    let dim2 = dim(&["zw01_2", "zw01_3", "zw01_4", "zw01_5"]);
    s.insert("kunnen_ss", scale(rmean(&[&dim1, &dim2]), 5.0 / 2.0));
    s.insert("bep_dim1_ss", dim1);
    s.insert("bep_dim2_ss", dim2);
}

fn participation_scale(it: &ItemColumns, s: &mut Computed) {
    let clubs: Vec<Col> = ["zw05_0", "zw05_1", "zw05_2", "zw05_3", "zw05_5"].iter().map(|n| it.get(n)).collect();
    let intens = rsum(&clubs.iter().map(|c| c.as_slice()).collect::<Vec<_>>());
    let ver_wei = map(&intens, |v| match v {
        1.0 => 2.0,
        v if v > 1.0 => 4.0,
        _ => 0.0,
    });
    let f = |n: &str| freq3(&it.get(n));
    let parts = [ver_wei, f("zw06_0"), f("zw06_1"), f("zw06_2"), f("zw06_3")];
    s.insert("par_ss", scale(rmean(&parts.iter().map(|c| c.as_slice()).collect::<Vec<_>>()), 20.0 / 8.0));
    s.insert("act_ver_intens", intens);
}

fn composites(it: &ItemColumns, s: &mut Computed) {
    let (zw02, zw00, wl01) = (it.get("zw02"), it.get("zw00"), it.get("wl01"));
    let welzijn = ["ses_ss", "socrel_ss", "kunnen_ss", "bereid_ss", "par_ss", "vangnet_ss", "sv_ss"];
    let mut cols: Vec<&[f64]> = welzijn.iter().map(|n| s[n].as_slice()).collect();
    cols.splice(2..2, [zw02.as_slice(), zw00.as_slice()]);
    let welzijn_ss = rmean(&cols);
    let vitaliteit = ["verbonden_ss", "samenredzaam_ss", "safe_ss", "fk_ss", "voorzieningen_ss", "betrouwbaar_ss"];
    let mut cols: Vec<&[f64]> = vitaliteit.iter().map(|n| s[n].as_slice()).collect();
    cols.insert(0, &wl01);
    let vitaliteit_ss = rmean(&cols);
    s.insert("vitaliteitwelzijn_ss", rmean(&[&welzijn_ss, &vitaliteit_ss]));
    s.insert("welzijn_ss", welzijn_ss);
    s.insert("vitaliteit_ss", vitaliteit_ss);
    let part = ["act_ver", "act_vw", "act_neigh", "act_opl", "act_arb", "act_soc", "act_ih", "act_hlp"];
    let part_score = rsum(&part.iter().map(|n| s[n].as_slice()).collect::<Vec<_>>());
    let qol = ["health", "bep_lich_neg", "bep_soc_neg", "alone_neg", "sv_pos", "pleasant_neigh", "safeguard"];
    let qol_score = rsum(&qol.iter().map(|n| s[n].as_slice()).collect::<Vec<_>>());
    s.insert("part_score", part_score);
    s.insert("qol_score", qol_score);
}

/// `typology.R` with the frozen breaks, on the cleaned scores (NaN and Inf already missing).
fn typology(s: &mut Computed) {
    for col in s.values_mut() {
        for v in col.iter_mut().filter(|v| v.is_infinite()) {
            *v = NA;
        }
    }
    let p: Col = s["part_score"].iter().map(|&v| bin(v, &PART_BREAKS)).collect();
    let q: Col = s["qol_score"].iter().map(|&v| bin(v, &QOL_BREAKS)).collect();
    let typ: Col = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| match () {
            _ if p.is_nan() || q.is_nan() => NA,
            _ if p > 2.0 && q > 2.0 => 1.0,
            _ if p < 3.0 && q > 2.0 => 2.0,
            _ if p > 2.0 && q < 3.0 => 3.0,
            _ => 4.0,
        })
        .collect();
    let zorg = p.iter().zip(&q).map(|(&p, &q)| if p.is_nan() || q.is_nan() { NA } else { b(p < 2.0 && q < 2.0) });
    s.insert("zorgwekkend", zorg.collect());
    s.insert("zelfredzaam", map(&typ, |t| b(t <= 2.0)));
    s.insert("typology", typ);
    s.insert("part_score_bin", p);
    s.insert("qol_score_bin", q);
}
