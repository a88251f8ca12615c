//! The respondent-level indicators the stage writes: name, kind, Dutch label and definition,
//! and what each one is computed from.
//!
//! One table is the single source for the output schema (column order and names: the golden
//! `respondent_scores/expected.csv`), the field metadata and the 2019 rule (an indicator that
//! needs, directly or through another indicator, an item whose meaning changed in 2022 is null
//! for 2019 rows). It holds no formulas: those are in `formulas.rs`, tested against the table.

/// What kind of value an indicator holds, which decides its Arrow type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 0 or 1 (or null).
    Binary,
    /// A whole number: a count of indicators or a class code.
    Whole,
    /// A score with decimals.
    Score,
}

/// One respondent-level indicator.
#[derive(Clone, Copy, Debug)]
pub struct Definition {
    pub name: &'static str,
    pub kind: Kind,
    /// Dutch label, for people.
    pub label: &'static str,
    /// Dutch definition: items, codes, formula, minimum of valid items.
    pub definition: &'static str,
    /// Lake columns and other indicators it is computed from.
    pub needs: &'static [&'static str],
}

const fn d(
    name: &'static str,
    kind: Kind,
    label: &'static str,
    definition: &'static str,
    needs: &'static [&'static str],
) -> Definition {
    Definition { name, kind, label, definition, needs }
}

use Kind::{Binary as B, Score as S, Whole as W};

/// Every indicator, in output order (the golden `expected.csv` order).
pub const DEFINITIONS: &[Definition] = &[
    d("act_neigh", B, "Actief voor de buurt", "1 als wl13 = 1 (vaak), anders 0; leeg als wl13 leeg", &["wl13"]),
    d(
        "act_mz",
        B,
        "Mantelzorg (hulp aan naaste)",
        "1 als zw06_0 of zw06_2 = 1; anders leeg als een van beide leeg; anders 1 als een van beide = 2; anders 0 (R-semantiek)",
        &["zw06_0", "zw06_2"],
    ),
    d(
        "act_mz_vaak",
        B,
        "Vaak mantelzorg",
        "leeg als zw06_0 leeg; 1 als zw06_0 = 1; leeg als zw06_2 leeg; 1 als zw06_2 = 1; anders 0",
        &["zw06_0", "zw06_2"],
    ),
    d("act_hlp", B, "Burenhulp gegeven", "1 als zw06_1 in {1,2}, 0 als 3, leeg als leeg", &["zw06_1"]),
    d("act_zw", B, "Aandacht voor buren in moeilijkheden", "1 als zw06_2 in {1,2}, 0 als 3", &["zw06_2"]),
    d("act_vw", B, "Vrijwilligerswerk", "1 als zw06_3 in {1,2}, 0 als 3", &["zw06_3"]),
    d(
        "act_ver",
        B,
        "Actief in verenigingsleven",
        "0 als zw05_4 (niet actief) aangevinkt, anders 1 (niet aangevinkt telt als 0, recode.R)",
        &["zw05_4"],
    ),
    d("act_opl", B, "Volgt onderwijs", "1 als ch04 = 8 (scholier/student)", &["ch04"]),
    d("act_arb", B, "Betaald werk", "1 als ch04 < 4 (loondienst, zzp, ondernemer)", &["ch04"]),
    d("act_soc", B, "Voldoende sociale contacten", "1 als zw03 = 1 (ja, zeker)", &["zw03"]),
    d(
        "act_ih",
        B,
        "Informele hulp",
        "1 als act_mz = 1 of act_zw = 1; leeg als geen van beide 1 is en een leeg is; anders 0",
        &["act_mz", "act_zw"],
    ),
    d("bep_gez", B, "Beperking: gezondheid", "1 als zw01_0 in {3,4} (flinke/ernstige mate), 0 als 1-2", &["zw01_0"]),
    d("bep_fys", B, "Beperking: lichamelijk", "1 als zw01_1 in {3,4}, 0 als 1-2", &["zw01_1"]),
    d("bep_men", B, "Beperking: psychisch", "1 als zw01_2 in {3,4}, 0 als 1-2", &["zw01_2"]),
    d("bep_cul", B, "Beperking: taal", "1 als zw01_3 in {3,4}, 0 als 1-2", &["zw01_3"]),
    d("bep_ink", B, "Beperking: rondkomen", "1 als zw01_4 in {3,4}, 0 als 1-2", &["zw01_4"]),
    d("bep_uit", B, "Beperking: eenzaamheid/uitsluiting", "1 als zw01_5 in {3,4}, 0 als 1-2", &["zw01_5"]),
    d("bep_and", B, "Beperking: anders", "1 als zw01_6 in {3,4}, 0 als 1-2", &["zw01_6"]),
    d(
        "mz_ob",
        B,
        "Overbelaste mantelzorger",
        "alleen bij act_mz = 1: 1 als zw09 in {3,4}, 0 als 1-2; anders leeg",
        &["zw09", "act_mz"],
    ),
    d(
        "mb_soc",
        W,
        "Aantal sociale beperkingen",
        "bep_men + bep_cul + bep_ink + bep_uit + mz_ob, lege niet meegeteld (0 als alle leeg)",
        &["bep_men", "bep_cul", "bep_ink", "bep_uit", "mz_ob"],
    ),
    d("bep_soc", B, "Sociaal beperkt", "1 als mb_soc > 0", &["mb_soc"]),
    d("bep_soc_neg", B, "Niet sociaal beperkt", "1 als mb_soc = 0", &["mb_soc"]),
    d(
        "mb_fys",
        W,
        "Aantal fysieke beperkingen",
        "bep_gez + bep_fys + bep_and, lege niet meegeteld",
        &["bep_gez", "bep_fys", "bep_and"],
    ),
    d("bep_lich", B, "Fysiek beperkt", "1 als mb_fys > 0", &["mb_fys"]),
    d("bep_lich_neg", B, "Niet fysiek beperkt", "1 als mb_fys = 0", &["mb_fys"]),
    d(
        "mb",
        W,
        "Aantal beperkingen",
        "som van de zeven bep_* en mz_ob, lege niet meegeteld",
        &["bep_gez", "bep_fys", "bep_men", "bep_cul", "bep_ink", "bep_uit", "bep_and", "mz_ob"],
    ),
    d("mb_neg", B, "Geen beperkingen", "1 als mb = 0", &["mb"]),
    d("mb_hv", B, "Twee of meer beperkingen", "1 als mb > 1", &["mb"]),
    d("health", B, "Goede gezondheid", "1 als zw02 >= 6", &["zw02"]),
    d("pleasant_neigh", B, "Prettig wonen in de buurt", "1 als wl01 >= 6", &["wl01"]),
    d("safeguard_fam", B, "Vangnet: familie", "1 als zw10_0 < 3", &["zw10_0"]),
    d("safeguard_friend", B, "Vangnet: vrienden", "1 als zw10_2 < 3", &["zw10_2"]),
    d("safeguard_neigh", B, "Vangnet: buren", "1 als zw10_1 < 3", &["zw10_1"]),
    d(
        "safeguard",
        B,
        "Sociaal vangnet aanwezig",
        "1 als een van safeguard_fam/_neigh/_friend 1 is; leeg als geen 1 is en een leeg is; anders 0",
        &["safeguard_fam", "safeguard_neigh", "safeguard_friend"],
    ),
    d("alone", B, "(Heel) vaak eenzaam", "0 als zw04 < 3, anders 1 (codes 3-4)", &["zw04"]),
    d("alone_full", B, "Wel eens eenzaam", "0 als zw04 = 1, anders 1 (codes 2-4)", &["zw04"]),
    d("alone_neg", B, "Niet of soms eenzaam", "1 als zw04 < 3, anders 0", &["zw04"]),
    d("sv_0", B, "Veerkracht: stelling 1 eens", "1 als zw19_0 < 3 (helemaal eens/eens)", &["zw19_0"]),
    d("sv_1", B, "Veerkracht: stelling 2 eens", "1 als zw19_1 < 3", &["zw19_1"]),
    d("sv_2", B, "Veerkracht: stelling 3 eens", "1 als zw19_2 < 3", &["zw19_2"]),
    d(
        "sv_3",
        B,
        "Veerkracht: stelling 4 eens",
        "1 als zw19_3 < 3 (negatief geformuleerd, niet omgekeerd: zoals VNG)",
        &["zw19_3"],
    ),
    d("sv_4", B, "Veerkracht: stelling 5 eens", "1 als zw19_4 < 3", &["zw19_4"]),
    d(
        "sv",
        W,
        "Aantal veerkrachtstellingen eens",
        "sv_0 + ... + sv_4, lege niet meegeteld",
        &["sv_0", "sv_1", "sv_2", "sv_3", "sv_4"],
    ),
    d("sv_pos", B, "Sociaal veerkrachtig", "1 als sv > 2", &["sv"]),
    d("gelukkig", B, "Gelukkig", "1 als zw00 > 6", &["zw00"]),
    d("zw05_rc", B, "Actief in een vereniging", "1 als zw05_4 niet aangevinkt, anders leeg (recode.R)", &["zw05_4"]),
    d(
        "part_brt",
        W,
        "Buurtparticipatie nu x toekomst",
        "1: wl13 < 3 en wl14 < 3; 2: wl13 < 3 en wl14 = 3; 3: wl13 = 3 en wl14 < 3; 4: wl13 = 3 en wl14 = 3; anders 0",
        &["wl13", "wl14"],
    ),
    d("part_vw", W, "Vrijwilligerswerk nu x toekomst", "als part_brt met zw06_3 en zw07", &["zw06_3", "zw07"]),
    d("lft_cy", W, "Leeftijdsklasse", "ch02 1-2: 1 (18-39), 3-4: 2 (40-64), 5: 3 (65-74), 6: 4 (75+)", &["ch02"]),
    d(
        "ses_ss",
        S,
        "Sociaal-economische status",
        "gemiddelde van ch03 (1..6 -> 0..5), ch06 (1..6 -> 0..5), ch04 (1->4, 2->3, 3->5, 4->0, >=5->2), zw01_4 (1->5, 2->4, 3->2, 4->0), x 6/3; minimaal 1 geldig item",
        &["ch03", "ch06", "ch04", "zw01_4"],
    ),
    d(
        "bereid_ss",
        S,
        "Bereidheid maatschappelijke inzet",
        "gemiddelde van wl14 (1->4, 2->2, 3->0), zw07 (idem), hlp_wei, x 5/2; minimaal 1",
        &["wl14", "zw07", "hlp_wei"],
    ),
    d(
        "samenredzaam_ss",
        S,
        "Samenredzaamheid buurt",
        "gemiddelde van agree4(wl03_1), agree4(wl12_0), wl13, zw06_1, zw10_1 (1->4, 2->3, 3->0), x 10/4; agree4: 1->4 ... 5->0",
        &["wl03_1", "wl12_0", "wl13", "zw06_1", "zw10_1"],
    ),
    d(
        "socrel_ss",
        S,
        "Betekenisvolle sociale relaties",
        "gemiddelde van zw03 (1->10, 2->5, 3->0), alone_ss, zw01_5 (1->5, 2->4, 3->2, 4->0); niet herschaald (max 8,33)",
        &["zw03", "alone_ss", "zw01_5"],
    ),
    d("alone_ss", S, "Afwezigheid eenzaamheid", "zw04: 1->10, 2->8, 3->6, 4->0", &["zw04"]),
    d(
        "vangnet_ss",
        S,
        "Sociaal vangnet",
        "gemiddelde van zw10_0 en zw10_1 (1->10, 2->5, 3->0); zw10_2 niet gebruikt (zoals VNG)",
        &["zw10_0", "zw10_1"],
    ),
    d(
        "safe_ss",
        S,
        "Sociale veiligheid",
        "gemiddelde van wl04 (1->8 ... 5->0), wl05 (1->0 ... 5->8), wl06 (1->0, 2->2, 3->4, 4->6), x 5/4",
        &["wl04", "wl05", "wl06"],
    ),
    d(
        "fk_ss",
        S,
        "Fysieke leefomgevingskwaliteit",
        "gemiddelde van agree4 van wl07_0, wl07_1, wl08_0, wl08_1, vz01_0, x 35/14",
        &["wl07_0", "wl07_1", "wl08_0", "wl08_1", "vz01_0"],
    ),
    d(
        "voorzieningen_ss",
        S,
        "Voorzieningenniveau",
        "gemiddelde van agree4 van vz01_0, vz03_5, vz03_6, vz03_0..vz03_4, x 35/14; vz03_7 niet gebruikt (zoals VNG)",
        &["vz01_0", "vz03_5", "vz03_6", "vz03_0", "vz03_1", "vz03_2", "vz03_3", "vz03_4"],
    ),
    d(
        "verbonden_ss",
        S,
        "Verbondenheid buurt",
        "gemiddelde van agree4 van wl02_0, wl02_1, wl02_2, wl03_0, wl03_1, wl03_2, x 10/4; gepubliceerd als unity_ss_mean",
        &["wl02_0", "wl02_1", "wl02_2", "wl03_0", "wl03_1", "wl03_2"],
    ),
    d("trust_ss", S, "Vertrouwen in de gemeente", "bo01: 1->10, 2->8, 3->6, 4->4, 5->2", &["bo01"]),
    d(
        "betrouwbaar_ss",
        S,
        "Betrokken, oplossingsgericht, betrouwbaar (BOB)",
        "gemiddelde van agree4 van bo02_0, bo02_1, bo02_2, bo03_0, bo03_1, wl12_0, wl12_2, x 10/4",
        &["bo02_0", "bo02_1", "bo02_2", "bo03_0", "bo03_1", "wl12_0", "wl12_2"],
    ),
    d(
        "par_ss",
        S,
        "Maatschappelijke inzet",
        "gemiddelde van act_ver_intens (0->0, 1->2, >1->4) en zw06_0..zw06_3 (1->4, 2->3, 3->0), x 20/8",
        &["act_ver_intens", "zw06_0", "zw06_1", "zw06_2", "zw06_3"],
    ),
    d(
        "kunnen_ss",
        S,
        "Eigen kracht",
        "gemiddelde van bep_dim1_ss en bep_dim2_ss, x 5/2; leeg als een dimensie geen geldig item heeft (R: Inf)",
        &["bep_dim1_ss", "bep_dim2_ss"],
    ),
    d(
        "sv_ss",
        S,
        "Sociale veerkracht",
        "gemiddelde van agree4 van zw19_0..zw19_4 (zw19_3 niet omgekeerd), x 35/14",
        &["zw19_0", "zw19_1", "zw19_2", "zw19_3", "zw19_4"],
    ),
    d(
        "hostman_ss",
        S,
        "Hostmanship",
        "gemiddelde van agree4 van mm01_0..mm01_4 en mm02_0, x 10/4",
        &["mm01_0", "mm01_1", "mm01_2", "mm01_3", "mm01_4", "mm02_0"],
    ),
    d(
        "welzijn_ss",
        S,
        "Welzijn",
        "gemiddelde van ses_ss, socrel_ss, zw02, zw00, kunnen_ss, bereid_ss, par_ss, vangnet_ss, sv_ss (lege overgeslagen; leeg als kunnen_ss door een lege dimensie onbepaald is, zoals R)",
        &[
            "ses_ss",
            "socrel_ss",
            "zw02",
            "zw00",
            "kunnen_ss",
            "bep_dim1_ss",
            "bep_dim2_ss",
            "bereid_ss",
            "par_ss",
            "vangnet_ss",
            "sv_ss",
        ],
    ),
    d(
        "vitaliteit_ss",
        S,
        "Vitaliteit buurt",
        "gemiddelde van wl01, verbonden_ss, samenredzaam_ss, safe_ss, fk_ss, voorzieningen_ss, betrouwbaar_ss",
        &["wl01", "verbonden_ss", "samenredzaam_ss", "safe_ss", "fk_ss", "voorzieningen_ss", "betrouwbaar_ss"],
    ),
    d(
        "vitaliteitwelzijn_ss",
        S,
        "Vitaliteit en welzijn",
        "gemiddelde van welzijn_ss en vitaliteit_ss",
        &["welzijn_ss", "vitaliteit_ss"],
    ),
    d(
        "hlp_wei",
        S,
        "Hulpbereidheid (tussenwaarde bereid_ss)",
        "0 als zw13_9 of zw13_10 aangevinkt; leeg als geen van beide aangevinkt (niet aangevinkt blijft leeg, zoals R); anders 2 als act_hlp = 0, 4 als act_hlp = 1",
        &["zw13_9", "zw13_10", "act_hlp"],
    ),
    d(
        "act_ver_intens",
        S,
        "Aantal verenigingen (tussenwaarde par_ss)",
        "zw05_0 + zw05_1 + zw05_2 + zw05_3 + zw05_5 (niet aangevinkt = 0)",
        &["zw05_0", "zw05_1", "zw05_2", "zw05_3", "zw05_5"],
    ),
    d(
        "bep_dim1_ss",
        S,
        "Eigen kracht: fysieke dimensie",
        "minimum van zw01_0, zw01_1, zw01_6 (1->4, 2->3, 3->2, 4->0)",
        &["zw01_0", "zw01_1", "zw01_6"],
    ),
    d(
        "bep_dim2_ss",
        S,
        "Eigen kracht: sociale dimensie",
        "minimum van zw01_2..zw01_5 (1->4, 2->3, 3->2, 4->0)",
        &["zw01_2", "zw01_3", "zw01_4", "zw01_5"],
    ),
    d(
        "part_score",
        W,
        "Participatiescore (0-8)",
        "act_ver + act_vw + act_neigh + act_opl + act_arb + act_soc + act_ih + act_hlp, lege niet meegeteld",
        &["act_ver", "act_vw", "act_neigh", "act_opl", "act_arb", "act_soc", "act_ih", "act_hlp"],
    ),
    d(
        "qol_score",
        W,
        "Welzijnscore (0-7)",
        "health + bep_lich_neg + bep_soc_neg + alone_neg + sv_pos + pleasant_neigh + safeguard, lege niet meegeteld",
        &["health", "bep_lich_neg", "bep_soc_neg", "alone_neg", "sv_pos", "pleasant_neigh", "safeguard"],
    ),
    d(
        "part_score_bin",
        W,
        "Participatieklasse (1-5)",
        "part_score in klassen met vaste grenzen (-Inf,1], (1,3], (3,4], (4,7], (7,Inf)",
        &["part_score"],
    ),
    d(
        "qol_score_bin",
        W,
        "Welzijnsklasse (1-5)",
        "qol_score in klassen met vaste grenzen (-Inf,3], (3,4], (4,6], (6,7], (7,Inf)",
        &["qol_score"],
    ),
    d(
        "typology",
        W,
        "Typologie vitaliteit van inwoners",
        "1 weerbaren (part_bin > 2, qol_bin > 2); 2 buitenstaanders (part_bin < 3, qol_bin > 2); 3 compenseerders (part_bin > 2, qol_bin < 3); 4 kwetsbaren (beide < 3)",
        &["part_score_bin", "qol_score_bin"],
    ),
    d(
        "zorgwekkend",
        B,
        "Zorgwekkend",
        "1 als part_bin < 2 en qol_bin < 2; leeg als een van beide leeg; anders 0",
        &["part_score_bin", "qol_score_bin"],
    ),
    d("zelfredzaam", B, "Zelfredzaam", "1 als typology in {1,2}, 0 als in {3,4}", &["typology"]),
];

/// The definition of an indicator.
pub fn definition(name: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.name == name)
}

/// The lake columns an indicator is computed from, directly or through other indicators
/// (empty for a name that is not an indicator).
pub fn items_needed(name: &str) -> Vec<&'static str> {
    let Some(root) = definition(name) else { return Vec::new() };
    let mut items = Vec::new();
    let mut stack: Vec<&'static str> = root.needs.to_vec();
    let mut seen = Vec::new();
    while let Some(n) = stack.pop() {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        match definition(n) {
            Some(def) => stack.extend(def.needs.iter().copied()),
            None => items.push(n),
        }
    }
    items.sort_unstable();
    items.dedup();
    items
}

/// Every lake column some indicator is computed from, sorted.
pub fn all_items() -> Vec<&'static str> {
    let mut items: Vec<&str> = DEFINITIONS.iter().flat_map(|d| items_needed(d.name)).collect();
    items.sort_unstable();
    items.dedup();
    items
}
