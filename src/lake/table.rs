//! One definition per lake table: [`lake_table!`] declares a record struct and derives its Arrow
//! schema and record batch from the same field list, so a column cannot be added to one and
//! forgotten in the other. Each field's Rust type says its Arrow type and nullability
//! ([`LakeColumn`]).
//!
//! What it must NOT do: know any table's fields (those are declared in `lake/mod.rs`).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int16Array, Int64Array, StringArray, TimestampSecondArray};
use arrow_schema::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, stored as a UTC timestamp column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixSeconds(pub i64);

/// A Rust type a lake column holds: its Arrow type, whether it may be null, and how a column of
/// values becomes an Arrow array.
pub trait LakeColumn: Sized {
    const NULLABLE: bool;
    fn data_type() -> DataType;
    fn array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// The values of an array written by [`LakeColumn::array`]; `None` when its type or its
    /// nulls do not fit (a file this product did not write).
    fn values(array: &ArrayRef) -> Option<Vec<Self>>;
}

/// Implements [`LakeColumn`] for a value type and its `Option`.
macro_rules! column_type {
    ($ty:ty, $array:ty, $data_type:expr, |$v:ident| $to:expr) => {
        impl LakeColumn for $ty {
            const NULLABLE: bool = false;
            fn data_type() -> DataType {
                $data_type
            }
            fn array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                Arc::new(values.map(|$v| Some($to)).collect::<$array>())
            }
            fn values(array: &ArrayRef) -> Option<Vec<Self>> {
                let a = array.as_any().downcast_ref::<$array>()?;
                a.iter().map(|v| v.map(<$ty>::from)).collect()
            }
        }
        impl LakeColumn for Option<$ty> {
            const NULLABLE: bool = true;
            fn data_type() -> DataType {
                $data_type
            }
            fn array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                Arc::new(values.map(|o| o.as_ref().map(|$v| $to)).collect::<$array>())
            }
            fn values(array: &ArrayRef) -> Option<Vec<Self>> {
                let a = array.as_any().downcast_ref::<$array>()?;
                Some(a.iter().map(|v| v.map(<$ty>::from)).collect())
            }
        }
    };
}

column_type!(String, StringArray, DataType::Utf8, |v| v.as_str());
column_type!(i16, Int16Array, DataType::Int16, |v| *v);
column_type!(i64, Int64Array, DataType::Int64, |v| *v);
column_type!(f64, Float64Array, DataType::Float64, |v| *v);
column_type!(bool, BooleanArray, DataType::Boolean, |v| *v);

impl LakeColumn for UnixSeconds {
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Second, Some("UTC".into()))
    }
    fn array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        Arc::new(TimestampSecondArray::from(values.map(|v| v.0).collect::<Vec<_>>()).with_timezone("UTC"))
    }
    fn values(array: &ArrayRef) -> Option<Vec<Self>> {
        let a = array.as_any().downcast_ref::<TimestampSecondArray>()?;
        a.iter().map(|v| v.map(UnixSeconds)).collect()
    }
}

/// Declares a lake table's record struct (`pub` fields of [`LakeColumn`] types) and derives
/// `schema()` and `record_batch(&[Self])` from the same list, fields in declaration order.
macro_rules! lake_table {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            /// The table's Arrow schema: one field per struct field, in order.
            pub fn schema() -> arrow_schema::Schema {
                use $crate::lake::table::LakeColumn;
                arrow_schema::Schema::new(vec![
                    $(arrow_schema::Field::new(stringify!($field), <$ty>::data_type(), <$ty>::NULLABLE),)*
                ])
            }

            /// The rows of a record batch of [`Self::schema`] (columns found by name); `None`
            /// when a column is missing or of another type.
            pub fn from_record_batch(batch: &arrow_array::RecordBatch) -> Option<Vec<$name>> {
                use $crate::lake::table::LakeColumn;
                $(let $field = <$ty>::values(batch.column_by_name(stringify!($field))?)?.into_iter();)*
                #[allow(unused_mut)]
                let mut columns = ($($field,)*);
                let mut rows = Vec::with_capacity(batch.num_rows());
                for _ in 0..batch.num_rows() {
                    let ($($field,)*) = &mut columns;
                    rows.push($name { $($field: $field.next()?,)* });
                }
                Some(rows)
            }

            /// The rows as one record batch of [`Self::schema`].
            pub fn record_batch(rows: &[$name]) -> anyhow::Result<arrow_array::RecordBatch> {
                use anyhow::Context;
                use $crate::lake::table::LakeColumn;
                let columns: Vec<arrow_array::ArrayRef> = vec![$(<$ty>::array(rows.iter().map(|r| &r.$field)),)*];
                arrow_array::RecordBatch::try_new(std::sync::Arc::new(Self::schema()), columns)
                    .with_context(|| format!("building the {} record batch", stringify!($name)))
            }
        }
    };
}

pub(crate) use lake_table;
