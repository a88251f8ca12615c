//! Indicators: the published Burgerpeiling figures (VNG "Waar staat je gemeente" codes) and how
//! they are computed from the lake.
//!
//! `catalogue` reads and validates `config/indicators/`: which published code is computed from
//! which lake column or respondent-level indicator, as what. It must NOT compute figures: the
//! respondent-level indicators and the aggregates are built from the catalogue elsewhere.

pub mod catalogue;
