//! The Dutch words of the report pages: statuses, severities, one text per finding rule, and the
//! few fixed English phrases other modules hand the reports (why a year was rebuilt, stage
//! names, weighting methods, why a column was dropped, why a delivery was not published).
//!
//! The JSON reports keep the stable English values; only the HTML pages read from here. The
//! finding messages themselves are written in English by many modules and may quote names and
//! numbers, so the page shows the rule's Dutch text from [`rule_text`] beside the finding's
//! column, rows and count instead of the message (see `docs/decisions.md`).
//!
//! What it must NOT do: decide anything, or show an English text it does not know: an unknown
//! phrase becomes a Dutch fallback, never the English original.

use crate::finding::Severity;

/// A delivery status (`published`, …) in Dutch.
pub fn status(status: &str) -> &'static str {
    match status {
        "published" => "gepubliceerd",
        "superseded" => "vervangen",
        "rejected" => "afgewezen",
        "duplicate_file" => "dubbel bestand",
        _ => "onbekende status",
    }
}

/// A finding's severity in Dutch.
pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "melding",
        Severity::Warning => "waarschuwing",
        Severity::Error => "fout",
    }
}

/// The command that made the run.
pub fn command(command: &str) -> &'static str {
    match command {
        "run" => "nachtelijke verwerking (run)",
        "reprocess" => "jaar opnieuw verwerkt (reprocess)",
        _ => "verwerking",
    }
}

/// Why a survey year was rebuilt (`pipeline::years` writes these phrases).
pub fn why_rebuilt(why: &str) -> &'static str {
    match why {
        "first build" => "eerste bouw",
        "reprocess --year" => "opnieuw verwerkt op verzoek (reprocess --year)",
        "--full" => "alles opnieuw opgebouwd (--full)",
        "the partition is missing from the lake" => "het jaar ontbrak in het meer",
        "its deliveries changed" => "de leveringen van het jaar zijn gewijzigd",
        "config, pipeline file, population tables or product version changed" => {
            "configuratie, pipelinebestand, bevolkingstabellen of productversie gewijzigd"
        }
        "" => "",
        _ => "de invoer van het jaar is gewijzigd",
    }
}

/// A stage of the run (`pipeline` times these).
pub fn stage(stage: &str) -> &'static str {
    match stage {
        "discover" => "inbox doorzoeken",
        "read and harmonise" => "lezen en harmoniseren",
        "deduplicate, assemble, weigh and stage years" => "ontdubbelen, samenvoegen, wegen en jaren klaarzetten",
        "publish years" => "jaren publiceren",
        "ledger, deliveries, weighting and response" => "register, leveringen, weging en respons",
        "render delivery reports" => "leveringsrapporten opmaken",
        "publish delivery reports" => "leveringsrapporten publiceren",
        "indicator tables" => "indicatortabellen",
        _ => "overige stap",
    }
}

/// A weighting method (`weight::Method` and the national weights).
pub fn method(method: &str) -> &'static str {
    match method {
        "auto" => "automatisch",
        "age" => "leeftijd",
        "age-district" => "leeftijd en wijk",
        "rake" => "iteratief naar leeftijd en wijk (raking)",
        "age (national)" => "leeftijd (landelijk)",
        _ => "andere methode",
    }
}

/// The population a weight came from: region, year, file and bands, with the English words of
/// `weight` (`6 bands 18-29..75+, exact`) in Dutch.
pub fn population_source(source: &str) -> String {
    source
        .replace(" districts ", " wijken ")
        .replace(" bands ", " leeftijdsklassen ")
        .replace("approximated", "benaderd")
}

/// Why a delivered column was not taken over (`harmonise::columns` writes these).
pub fn dropped_column(why: &str) -> String {
    if why == "duplicate" {
        "dubbele kolom: de eerste met deze naam is gebruikt".into()
    } else if why == "not a variable of this dataformat" {
        "geen variabele van dit dataformat (de inhoud is niet gelezen)".into()
    } else if let Some(kind) = why.strip_prefix("personal data by its name: ") {
        format!("persoonsgegevens volgens de kolomnaam ({kind}); niet gelezen")
    } else {
        "persoonsgegevens of open tekst; de kolom is niet overgenomen".into()
    }
}

/// Why a delivery was not published, in Dutch. `rule` is the rule of the finding that rejected
/// it, when the caller knows it; the reasons of copies and redeliveries name the other file.
pub fn reason(reason: &str, rule: Option<&str>) -> String {
    if let Some(of) = reason.strip_prefix("same bytes as ") {
        return format!("dezelfde bytes als {of}");
    }
    if let Some(by) = reason.strip_prefix("superseded by the later delivery ") {
        return format!("vervangen door de latere levering {by}");
    }
    if reason == "the file left the inbox" {
        return "het bestand staat niet meer in de inbox".into();
    }
    match rule {
        Some(rule) => rule_text(rule).to_string(),
        None => "afgewezen wegens een fout; het leveringsrapport noemt de regel".into(),
    }
}

/// What a finding rule means, in Dutch: one text per rule id of [`crate::finding::RULES`] (a
/// test checks that none is missing), after `docs/rules.md`.
pub fn rule_text(rule: &str) -> &'static str {
    ingest_rule(rule).or_else(|| harmonise_rule(rule)).or_else(|| later_rule(rule)).unwrap_or(UNKNOWN_RULE)
}

/// The text of a rule id that has none (never for a rule in `RULES`).
pub const UNKNOWN_RULE: &str = "Zie de beschrijving van deze regel in de documentatie.";

fn ingest_rule(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "ingest.file-unreadable" => "Het bestand kon niet worden geopend of gelezen.",
        "ingest.file-empty" => "Het bestand is leeg (0 bytes); lever het opnieuw.",
        "ingest.file-too-large" => "Het bestand is groter dan de ingestelde grens en is niet gelezen.",
        "ingest.delivery-missing" => {
            "Een eerder gepubliceerde levering staat niet meer in de inbox; ze blijft gepubliceerd."
        }
        "ingest.symlink-outside-inbox" => "Een snelkoppeling wijst buiten de inbox en is niet gevolgd.",
        "ingest.file-corrupt" => {
            "Het bestand is niet wat de extensie zegt, of het is beschadigd; exporteer het opnieuw."
        }
        "ingest.zip-password" => {
            "De zip-bundel kan niet worden geopend: het wachtwoord ontbreekt of klopt niet; de bundel is afgewezen."
        }
        "ingest.bundle-no-dataset" => "De zip-bundel bevat geen databestand; de bundel is afgewezen.",
        "ingest.bundle-attachments" => {
            "De zip-bundel bevat ook bijlagen (vragenlijst, rapport); die zijn genoemd en niet gelezen."
        }
        "ingest.bundle-entry-unsafe" => {
            "Een bestand in de zip-bundel heeft een onveilige naam (zoals ../); het is niet gelezen."
        }
        "ingest.bundle-too-deep" => "De zip-bundel bevat een zip in een zip; alleen één niveau diep wordt geopend.",
        "ingest.password-protected" => "Het werkboek is met een wachtwoord beveiligd; lever het zonder wachtwoord.",
        "ingest.decompressed-too-large" => "Het werkboek zou uitgepakt te groot worden en is niet geopend.",
        "ingest.far-cells-ignored" => "Cellen ver rechts van de gegevens (na kolom 4096) zijn genegeerd.",
        "ingest.no-data" => "Het bestand bevat geen kopregel met gegevens eronder.",
        "ingest.no-header" => "In de eerste 30 regels staat geen kopregel met variabelenamen van het dataformat.",
        "ingest.title-rows-skipped" => "Regels boven de kopregel (titels, notities) zijn overgeslagen.",
        "ingest.ragged-row" => "Een regel heeft meer of minder velden dan de kopregel.",
        _ => return None,
    })
}

fn harmonise_rule(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "harmonise.no-questionnaire-columns" => "Geen enkele kolom is een vraag uit het dataformat.",
        "harmonise.column-unknown" => "Een kolom hoort niet bij het dataformat en is niet overgenomen (niet gelezen).",
        "harmonise.column-duplicate" => "Twee kolommen hebben dezelfde naam; de eerste is gebruikt.",
        "harmonise.column-excluded" => {
            "Een kolom die nooit in het meer mag (postcode, open tekst) is ongelezen weggelaten."
        }
        "harmonise.value-not-a-code" => "Een antwoord is geen geheel getal; het is leeggemaakt.",
        "harmonise.date-in-questionnaire-column" => {
            "Cellen in een vraagkolom zijn als datum opgemaakt; ze zijn leeggemaakt."
        }
        "harmonise.code-invalid" => "Een getal is geen geldige code van de vraag; het is leeggemaakt.",
        "harmonise.recode-unmappable" => {
            "Een antwoord uit 2019 heeft geen code in 2022; de kolom van 2022 is leeg, de kolom _2019 houdt de code."
        }
        "harmonise.labels-as-codes" => "Antwoorden zijn als tekst (waardelabels) geleverd en als hun codes gelezen.",
        "harmonise.agency-unknown" => {
            "De naam van het onderzoeksbureau (org) staat niet in de lijst van bureaus; org is leeg gelaten."
        }
        "harmonise.non-respondent-rows" => {
            "Rijen onder de kop die geen respondent zijn (een tweede kop, eenheden, totalen) zijn overgeslagen."
        }
        "harmonise.respondent-not-a-number" => {
            "Een respondentnummer is geen geheel getal; de rij is gehouden en heeft een sleutel op rijnummer."
        }
        "harmonise.year-filled" => {
            "Het jaar (jr) ontbrak of was onleesbaar en is aangevuld met het jaar van de levering."
        }
        "harmonise.routing-blanked" => "Antwoorden die de routering had moeten overslaan zijn leeggemaakt.",
        "harmonise.weging-invalid" => "Een weging is geen getal; ze is leeggemaakt.",
        "harmonise.weging-too-high" => "Rijen hebben een weging van 5 of meer, wat het protocol niet toestaat.",
        "harmonise.weging-without-age" => "Rijen zonder leeftijd hebben een weging anders dan 1.",
        "harmonise.weging-mean" => "De gemiddelde weging wijkt meer dan 0,05 af van 1.",
        "harmonise.too-few-complete" => {
            "De gemeente heeft dit jaar minder dan 475 volledige vragenlijsten; de uitkomsten mogen niet worden gepubliceerd."
        }
        "harmonise.version-contradictory" => "Het bestand heeft variabelen van zowel 2019 als 2022.",
        "harmonise.version-undecidable" => "Niet te bepalen welke versie van de vragenlijst het bestand volgt.",
        "harmonise.municipality-unknown" => "Geen enkele rij heeft een gemeente die het CBS kent.",
        "harmonise.municipality-split" => {
            "De gemeente is opgesplitst; rijen zijn waar mogelijk via de wijkcode toegewezen."
        }
        "harmonise.municipality-merged" => "De gemeente is later gefuseerd; de rijen staan onder de huidige gemeente.",
        "harmonise.rows-municipality-unknown" => "Rijen hebben een onbekend gemeentenummer en zijn niet gepubliceerd.",
        "harmonise.joint-survey" => "Het bestand bevat respondenten van meerdere gemeenten.",
        "harmonise.district-other-municipality" => "Een wijkcode ligt in een andere gemeente dan het gemeentenummer.",
        "harmonise.year-missing" => "Het onderzoeksjaar staat niet in de kolom jr en niet in de bestandsnaam.",
        "harmonise.year-mixed" => "Het bestand bevat meer dan één onderzoeksjaar.",
        "harmonise.name-hint-disagrees" => {
            "De bestandsnaam noemt een andere gemeente, jaar of kwartaal dan de kolommen."
        }
        "harmonise.respondent-missing" => "Een rij heeft geen respondentnummer; ze is genummerd naar haar regel.",
        "harmonise.personal-data-column" => {
            "Een kolom bevat volgens haar naam persoonsgegevens; ze is ongelezen weggelaten."
        }
        "harmonise.personal-data-found" => {
            "Cellen van een kolom bevatten persoonsgegevens; de hele kolom is weggelaten."
        }
        _ => return None,
    })
}

fn later_rule(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "dedup.duplicate-file" => "Het bestand heeft dezelfde bytes als een eerder bestand; het telt één keer.",
        "dedup.superseded" => "Een latere levering voor dezelfde gemeente, jaar en kwartaal vervangt deze.",
        "dedup.exact-duplicate-row" => "Een rij is gelijk aan een eerdere rij; de latere is niet gepubliceerd.",
        "dedup.cross-mode-duplicate" => {
            "Dezelfde respondent antwoordde op internet en op papier; één record is gehouden."
        }
        "dedup.respondent-number-conflict" => {
            "Een respondentnummer komt vaker voor met andere antwoorden; alle rijen blijven."
        }
        "dedup.near-duplicate" => {
            "Twee rijen met verschillende nummers lijken vrijwel gelijk; gemeld, niet verwijderd."
        }
        "dedup.near-duplicate-dropped" => "Twee rijen lijken vrijwel gelijk; de latere is niet gepubliceerd.",
        "weight.no-population" => {
            "Er is geen bevolkingstabel voor de gemeente en het jaar; de weging kon niet worden berekend."
        }
        "weight.population-unusable" => "De bevolkingstabel past niet op de leeftijdsklassen van ch02.",
        "weight.method-unavailable" => "De gevraagde wegingsmethode kan niet: de bevolking per wijk ontbreekt.",
        "weight.method" => "De gebruikte wegingsmethode voor de gemeente en het jaar.",
        "weight.missing-age" => "Rijen zonder leeftijd krijgen weging 1, zoals het protocol voorschrijft.",
        "weight.district-unknown" => "Rijen zonder bekende wijk krijgen weging 1.",
        "weight.bands-approximated" => "De leeftijdsklassen van de bevolking zijn benaderd.",
        "weight.cells-merged" => "Een wegingscel had te weinig respondenten en is samengevoegd met een aangrenzende.",
        "weight.population-earlier-year" => {
            "Er is geen bevolkingstabel van dit jaar; die van het dichtstbijzijnde eerdere jaar is gebruikt."
        }
        "weight.not-converged" => "De weging is niet geconvergeerd; de laatste gewichten zijn gehouden.",
        "weight.trimmed" => "Gewichten boven het maximum zijn afgetopt.",
        "weight.deff-high" => "Het design-effect van de weging is groter dan 2: de uitkomsten zijn minder precies.",
        "weight.agency-differs" => "De weging van het bureau wijkt meer dan 0,5 af van de herberekende weging.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_dutch_text() {
        let missing: Vec<&str> =
            crate::finding::RULES.iter().map(|r| r.id).filter(|id| rule_text(id) == UNKNOWN_RULE).collect();
        assert!(missing.is_empty(), "no Dutch text for {missing:?}");
    }

    #[test]
    fn every_status_is_translated() {
        for s in crate::outcome::Status::ALL {
            assert_ne!(status(s.as_str()), "onbekende status", "{}", s.as_str());
        }
    }

    #[test]
    fn reasons_keep_the_other_file_and_translate_the_rest() {
        assert_eq!(reason("same bytes as a/b.xlsx", None), "dezelfde bytes als a/b.xlsx");
        assert_eq!(
            reason("superseded by the later delivery b_v2.csv (0123)", None),
            "vervangen door de latere levering b_v2.csv (0123)"
        );
        assert_eq!(
            reason("the file is named .xlsx but …", Some("ingest.file-corrupt")),
            rule_text("ingest.file-corrupt")
        );
        assert!(reason("the file is named .xlsx but …", None).starts_with("afgewezen"));
    }
}
