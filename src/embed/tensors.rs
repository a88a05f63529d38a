//! A safetensors file's tensors as f32, read where they lie.
//!
//! candle's `VarBuilder` copies every tensor it hands out into a new buffer, and its
//! `to_vec1` copies it again: loading all-MiniLM-L6-v2 that way wrote about 180 MB of fresh
//! pages, most of a CLI call's system time. A little-endian f32 tensor whose bytes are
//! 4-aligned (as safetensors lays them out, in a page-aligned mapping) is instead borrowed
//! from the file's bytes, so packing reads the mapped file directly and the word-embedding
//! table is never copied at all ([`Bert`](super::bert::Bert) keeps the mapping). Any other
//! dtype (f16, bf16, f64) is converted by candle, exactly as `VarBuilder` did.

use std::borrow::Cow;

use candle_core::safetensors::Load;
use candle_core::{DType, Device};
use safetensors::{Dtype, SafeTensors};

/// The tensors of one safetensors file whose names start with a prefix (`a.b.`), as
/// candle's `VarBuilder::pp` builds them.
#[derive(Clone)]
pub struct Tensors<'f, 'a> {
    file: &'f SafeTensors<'a>,
    prefix: String,
}

impl<'f, 'a> Tensors<'f, 'a> {
    /// The file's tensors, unprefixed.
    pub fn new(file: &'f SafeTensors<'a>) -> Self {
        Self {
            file,
            prefix: String::new(),
        }
    }

    /// The tensors under `name.` within these.
    pub fn pp(&self, name: impl AsRef<str>) -> Self {
        Self {
            file: self.file,
            prefix: format!("{}{}.", self.prefix, name.as_ref()),
        }
    }

    /// Whether a tensor `name` exists under the prefix.
    pub fn contains(&self, name: &str) -> bool {
        self.file.tensor(&self.path(name)).is_ok()
    }

    /// Tensor `name` (under the prefix), which must have `shape`, as f32 values in row-major
    /// order: borrowed from the file when it is stored as aligned little-endian f32,
    /// converted otherwise. A missing tensor is candle's `CannotFindTensor`, a wrong shape
    /// its `UnexpectedShape`.
    pub fn get(&self, shape: &[usize], name: &str) -> candle_core::Result<Cow<'a, [f32]>> {
        let path = self.path(name);
        let view = self
            .file
            .tensor(&path)
            .map_err(|_| candle_core::Error::CannotFindTensor { path: path.clone() }.bt())?;
        if view.shape() != shape {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("shape mismatch for {path}"),
                expected: shape.into(),
                got: view.shape().into(),
            }
            .bt());
        }
        if view.dtype() == Dtype::F32 && cfg!(target_endian = "little") {
            // Safetensors stores little-endian values; borrowing needs 4-byte alignment.
            if let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(view.data()) {
                return Ok(Cow::Borrowed(values));
            }
        }
        let tensor = view.load(&Device::Cpu)?.to_dtype(DType::F32)?;
        Ok(Cow::Owned(tensor.flatten_all()?.to_vec1::<f32>()?))
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file holding `tensors` (name, dtype, shape, little-endian bytes).
    fn file(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
        let views: Vec<_> = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                    .expect("view");
                (name.to_string(), view)
            })
            .collect();
        safetensors::serialize(views, None).expect("serialize")
    }

    fn le_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn an_f32_tensor_is_borrowed_from_the_files_bytes() {
        let values = [1.5f32, -2.0, 0.25, 7.0, 3.0, -0.5];
        let bytes = file(&[("a.b.weight", Dtype::F32, vec![2, 3], le_bytes(&values))]);
        let parsed = SafeTensors::deserialize(&bytes).expect("parse");
        let tensors = Tensors::new(&parsed).pp("a").pp("b");
        let got = tensors.get(&[2, 3], "weight").expect("get");
        assert_eq!(&*got, &values);
        let Cow::Borrowed(slice) = got else {
            panic!("an aligned f32 tensor was copied");
        };
        let start = bytes.as_ptr() as usize;
        let at = slice.as_ptr() as usize;
        assert!(
            at >= start && at + 24 <= start + bytes.len(),
            "the values lie in the file's bytes"
        );
        assert!(tensors.contains("weight") && !tensors.contains("bias"));
    }

    #[test]
    fn other_dtypes_are_converted_and_mistakes_are_named() {
        // bf16 is f32's upper half: exact for these values.
        let halves: Vec<u8> = [1.0f32, -0.5, 2.0]
            .iter()
            .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
            .collect();
        let bytes = file(&[("h", Dtype::BF16, vec![3], halves)]);
        let parsed = SafeTensors::deserialize(&bytes).expect("parse");
        let tensors = Tensors::new(&parsed);
        assert_eq!(&*tensors.get(&[3], "h").expect("get"), &[1.0, -0.5, 2.0]);

        let missing = tensors.get(&[3], "nope").expect_err("missing").to_string();
        assert!(missing.contains("nope"), "{missing}");
        let shape = tensors.get(&[1, 3], "h").expect_err("shape").to_string();
        assert!(shape.contains("shape mismatch for h"), "{shape}");
    }
}
