//! Reading the classic `mnist.pkl.gz`, one source of MNIST.
//!
//! That file is a gzip-compressed Python pickle (protocol 2, written by Python 2 and numpy)
//! holding a tuple of three `(images, labels)` pairs: training (50,000), validation (10,000) and
//! test (10,000). Images are `float32` arrays of shape `[n, 784]` whose values are exactly the
//! original bytes divided by 256; labels are `int64` arrays of shape `[n]`. Training followed by
//! validation is the official 60,000-image training set, in order.
//!
//! This module holds a small stack-machine unpickler that understands just enough of the format
//! to rebuild numpy arrays (`numpy.core.multiarray._reconstruct`, `numpy.dtype` and `BUILD`). It
//! never runs code, it refuses anything else, and it does not copy the array bytes: arrays are
//! views into the decompressed file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::data::error::DataError;
use crate::data::idx::{maybe_gunzip, read_file, IdxImages, NUM_CLASSES};

/// The MNIST pickle converted to the official IDX layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistPickle {
    /// The official training set: the pickle's training split followed by its validation split.
    pub train: (IdxImages, Vec<u8>),
    /// The official test set.
    pub test: (IdxImages, Vec<u8>),
}

/// Reads `mnist.pkl.gz` (gzip-compressed or raw) and converts it to IDX images and labels.
///
/// Pixels are converted with `round(v * 256)`; every value must be a multiple of 1/256 in
/// `[0, 255/256]` (within 1e-4) and every label in `0..=9`, else [`DataError::BadPickle`].
pub fn read_mnist_pickle(path: &Path) -> Result<MnistPickle, DataError> {
    let bytes = maybe_gunzip(path, read_file(path)?)?;
    parse_mnist_pickle(path, &bytes)
}

/// Like [`read_mnist_pickle`] on the already decompressed pickle `bytes`; `path` is only used in
/// errors.
pub fn parse_mnist_pickle(path: &Path, bytes: &[u8]) -> Result<MnistPickle, DataError> {
    let bad = |detail: String| DataError::BadPickle {
        path: path.to_path_buf(),
        detail,
    };
    let top = unpickle(bytes).map_err(bad)?;
    let splits = match &top {
        Value::Tuple(items) if items.len() == 3 => items.clone(),
        other => {
            return Err(bad(format!(
                "the top-level object is {} instead of a tuple of three splits",
                other.describe()
            )))
        }
    };
    let names = ["training", "validation", "test"];
    let mut parts = Vec::with_capacity(3);
    for (split, name) in splits.iter().zip(names) {
        parts.push(convert_split(split, name).map_err(bad)?);
    }
    let mut it = parts.into_iter();
    let (Some(train), Some(valid), Some(test)) = (it.next(), it.next(), it.next()) else {
        return Err(bad("fewer than three splits".to_string()));
    };
    let (mut train_imgs, mut train_labels) = train;
    let (valid_imgs, valid_labels) = valid;
    train_imgs.pixels.extend_from_slice(&valid_imgs.pixels);
    train_imgs.count += valid_imgs.count;
    train_labels.extend_from_slice(&valid_labels);
    Ok(MnistPickle {
        train: (train_imgs, train_labels),
        test,
    })
}

/// Converts one `(images, labels)` pair.
fn convert_split(split: &Value<'_>, name: &str) -> Result<(IdxImages, Vec<u8>), String> {
    let (imgs, labels) = match split {
        Value::Tuple(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Value::Array(a), Value::Array(b)) => (a.borrow().clone(), b.borrow().clone()),
            (a, b) => {
                return Err(format!(
                    "the {name} split holds {} and {} instead of two numpy arrays",
                    a.describe(),
                    b.describe()
                ))
            }
        },
        other => {
            return Err(format!(
                "the {name} split is {} instead of an (images, labels) pair",
                other.describe()
            ))
        }
    };
    let (count, rows, cols) = match imgs.shape.as_slice() {
        [n, 784] => (*n, 28, 28),
        [n, 28, 28] => (*n, 28, 28),
        s => {
            return Err(format!(
                "the {name} images have shape {s:?} instead of [n, 784]"
            ))
        }
    };
    if labels.shape != [count] {
        return Err(format!(
            "the {name} labels have shape {:?} but there are {count} images",
            labels.shape
        ));
    }
    let (Some(data), Some(ldata)) = (imgs.data, labels.data) else {
        return Err(format!("the {name} split holds an array without data"));
    };
    let n = count
        .checked_mul(rows * cols)
        .ok_or_else(|| format!("the {name} images are too many"))?;
    let mut pixels = Vec::with_capacity(n);
    for i in 0..n {
        let v = imgs.dtype.get_f64(data, i).ok_or_else(|| {
            format!(
                "the {name} images have dtype {}, not a float or uint8",
                imgs.dtype
            )
        })?;
        pixels.push(to_pixel(v, imgs.dtype.kind == b'u').ok_or_else(|| {
            format!(
                "the {name} images hold the value {v} at position {i}, which is not a pixel \
                 (k/256 for k in 0..=255)"
            )
        })?);
    }
    let mut labs = Vec::with_capacity(count);
    for i in 0..count {
        let v = labels.dtype.get_i128(ldata, i).ok_or_else(|| {
            format!(
                "the {name} labels have dtype {}, not an integer type",
                labels.dtype
            )
        })?;
        match u8::try_from(v) {
            Ok(l) if l < NUM_CLASSES => labs.push(l),
            _ => return Err(format!("the {name} label #{i} is {v}, not in 0..=9")),
        }
    }
    Ok((
        IdxImages {
            count,
            rows,
            cols,
            pixels,
        },
        labs,
    ))
}

/// `v * 256` rounded, when it is (within 1e-4) an integer in `0..=255`; `raw` for uint8 data.
fn to_pixel(v: f64, raw: bool) -> Option<u8> {
    let x = if raw { v } else { v * 256.0 };
    let r = x.round();
    if x.is_finite() && (x - r).abs() <= 1e-4 && (0.0..=255.0).contains(&r) {
        Some(r as u8)
    } else {
        None
    }
}

/// A numpy element type: kind (`b'f'` float, `b'i'` signed, `b'u'` unsigned, `b'b'` bool),
/// size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NpDtype {
    kind: u8,
    size: usize,
    little_endian: bool,
}

impl std::fmt::Display for NpDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let order = if self.little_endian { '<' } else { '>' };
        write!(f, "'{order}{}{}'", self.kind as char, self.size)
    }
}

impl NpDtype {
    /// Parses a numpy type string such as `f4`, `<i8`, `u1`, `float32`.
    fn parse(descr: &str) -> Option<NpDtype> {
        let (order, rest) = match descr.as_bytes().first() {
            Some(b'<') | Some(b'|') | Some(b'=') => (Some(true), &descr[1..]),
            Some(b'>') => (Some(false), &descr[1..]),
            _ => (None, descr),
        };
        let (kind, size) = match rest {
            "float32" => (b'f', 4),
            "float64" => (b'f', 8),
            "int64" => (b'i', 8),
            "int32" => (b'i', 4),
            "int16" => (b'i', 2),
            "int8" => (b'i', 1),
            "uint8" => (b'u', 1),
            "uint16" => (b'u', 2),
            "uint32" => (b'u', 4),
            "uint64" => (b'u', 8),
            "bool" => (b'b', 1),
            _ => {
                let kind = *rest.as_bytes().first()?;
                let size: usize = rest.get(1..)?.parse().ok()?;
                (kind, size)
            }
        };
        let ok = match kind {
            b'f' => size == 4 || size == 8,
            b'i' | b'u' => matches!(size, 1 | 2 | 4 | 8),
            b'b' => size == 1,
            _ => false,
        };
        ok.then_some(NpDtype {
            kind,
            size,
            little_endian: order.unwrap_or(cfg!(target_endian = "little")),
        })
    }

    fn element(&self, data: &[u8], i: usize) -> Option<[u8; 8]> {
        let start = i.checked_mul(self.size)?;
        let b = data.get(start..start.checked_add(self.size)?)?;
        let mut out = [0u8; 8];
        // Normalise to little-endian in the low bytes.
        if self.little_endian {
            out[..self.size].copy_from_slice(b);
        } else {
            for (o, x) in out.iter_mut().zip(b.iter().rev()) {
                *o = *x;
            }
        }
        Some(out)
    }

    /// Element `i` as `f64` (floats and unsigned bytes only).
    fn get_f64(&self, data: &[u8], i: usize) -> Option<f64> {
        let e = self.element(data, i)?;
        match (self.kind, self.size) {
            (b'f', 4) => Some(f32::from_le_bytes([e[0], e[1], e[2], e[3]]) as f64),
            (b'f', 8) => Some(f64::from_le_bytes(e)),
            (b'u', 1) => Some(e[0] as f64),
            _ => None,
        }
    }

    /// Element `i` as an integer (integer and bool types only).
    fn get_i128(&self, data: &[u8], i: usize) -> Option<i128> {
        let e = self.element(data, i)?;
        let unsigned = u64::from_le_bytes(e) as i128;
        match self.kind {
            b'u' | b'b' => Some(unsigned),
            b'i' => {
                let bits = 8 * self.size as u32;
                let sign = 1i128 << (bits - 1);
                Some(if unsigned & sign != 0 {
                    unsigned - (1i128 << bits)
                } else {
                    unsigned
                })
            }
            _ => None,
        }
    }
}

/// A numpy array rebuilt from a pickle; the data is a view into the pickle bytes.
#[derive(Debug, Clone)]
struct NpArray<'a> {
    dtype: NpDtype,
    shape: Vec<usize>,
    /// `None` until `BUILD` gives the array its state.
    data: Option<&'a [u8]>,
}

/// A pickled value. Mutable objects (dtypes, arrays, lists) are shared so that `BUILD` and
/// `APPENDS` act on the memoised object too, as in Python.
#[derive(Debug, Clone)]
enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// A Python 2 `str` or a `bytes`: a view into the pickle.
    Bytes(&'a [u8]),
    Unicode(String),
    Tuple(Rc<Vec<Value<'a>>>),
    List(Rc<RefCell<Vec<Value<'a>>>>),
    Global(Rc<(String, String)>),
    Dtype(Rc<RefCell<NpDtype>>),
    Array(Rc<RefCell<NpArray<'a>>>),
}

impl Value<'_> {
    fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Int(i) => format!("the integer {i}"),
            Value::Bytes(b) => format!("a string of {} bytes", b.len()),
            Value::Unicode(s) => format!("the text {s:?}"),
            Value::Tuple(t) => format!("a tuple of {} items", t.len()),
            Value::List(l) => format!("a list of {} items", l.borrow().len()),
            Value::Global(g) => format!("the global {}.{}", g.0, g.1),
            Value::Dtype(d) => format!("the dtype {}", d.borrow()),
            Value::Array(a) => format!("an array of shape {:?}", a.borrow().shape),
        }
    }

    fn as_text(&self) -> Option<&str> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            Value::Unicode(s) => Some(s),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
}

/// A cursor over the pickle bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(format!(
                "the data ends at byte {} in the middle of an item of {n} bytes starting at byte {}",
                self.bytes.len(),
                self.pos
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(self.u32()? as i32)
    }

    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("unterminated line at byte {}", self.pos))?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| format!("a name that is not text at byte {}", self.pos))?;
        self.pos += n + 1;
        Ok(s)
    }
}

/// Runs the pickle machine over `bytes` and returns the top-level object.
fn unpickle(bytes: &[u8]) -> Result<Value<'_>, String> {
    let mut r = Reader { bytes, pos: 0 };
    let mut stack: Vec<Value<'_>> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: HashMap<u32, Value<'_>> = HashMap::new();

    fn pop<'a>(stack: &mut Vec<Value<'a>>, at: usize) -> Result<Value<'a>, String> {
        stack
            .pop()
            .ok_or_else(|| format!("the stack is empty at byte {at}"))
    }
    fn pop_mark<'a>(
        stack: &mut Vec<Value<'a>>,
        marks: &mut Vec<usize>,
        at: usize,
    ) -> Result<Vec<Value<'a>>, String> {
        let m = marks
            .pop()
            .ok_or_else(|| format!("no MARK before the opcode at byte {at}"))?;
        if m > stack.len() {
            return Err(format!("the MARK was popped before byte {at}"));
        }
        Ok(stack.split_off(m))
    }

    loop {
        let at = r.pos;
        let op = r
            .u8()
            .map_err(|_| "the pickle ends without a STOP opcode".to_string())?;
        match op {
            0x80 => {
                // PROTO
                let v = r.u8()?;
                if v > 5 {
                    return Err(format!("unsupported pickle protocol {v}"));
                }
            }
            0x95 => {
                // FRAME (protocol 4): only a size hint.
                r.take(8)?;
            }
            b'.' => {
                // STOP
                return pop(&mut stack, at);
            }
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(r.u8()? as i64)),
            b'M' => stack.push(Value::Int(r.u16()? as i64)),
            b'J' => stack.push(Value::Int(r.i32()? as i64)),
            0x8a => {
                // LONG1: little-endian two's complement of n bytes.
                let n = r.u8()? as usize;
                let b = r.take(n)?;
                if n > 8 {
                    return Err(format!("integer of {n} bytes at byte {at} is too large"));
                }
                let mut v: i64 = 0;
                for (i, &x) in b.iter().enumerate() {
                    v |= (x as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(v));
            }
            b'U' | b'C' => {
                // SHORT_BINSTRING, SHORT_BINBYTES
                let n = r.u8()? as usize;
                stack.push(Value::Bytes(r.take(n)?));
            }
            b'T' => {
                // BINSTRING: signed 32-bit length.
                let n = r.i32()?;
                let n = usize::try_from(n)
                    .map_err(|_| format!("negative string length {n} at byte {at}"))?;
                stack.push(Value::Bytes(r.take(n)?));
            }
            b'B' => {
                // BINBYTES
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?));
            }
            b'X' | 0x8c => {
                // BINUNICODE, SHORT_BINUNICODE
                let n = if op == b'X' {
                    r.u32()? as usize
                } else {
                    r.u8()? as usize
                };
                let s = std::str::from_utf8(r.take(n)?)
                    .map_err(|_| format!("invalid UTF-8 text at byte {at}"))?;
                stack.push(Value::Unicode(s.to_string()));
            }
            b')' => stack.push(Value::Tuple(Rc::new(Vec::new()))),
            0x85..=0x87 => {
                // TUPLE1..3
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err(format!("the stack is too short for a tuple at byte {at}"));
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(Rc::new(items)));
            }
            b't' => {
                let items = pop_mark(&mut stack, &mut marks, at)?;
                stack.push(Value::Tuple(Rc::new(items)));
            }
            b']' => stack.push(Value::List(Rc::new(RefCell::new(Vec::new())))),
            b'l' => {
                let items = pop_mark(&mut stack, &mut marks, at)?;
                stack.push(Value::List(Rc::new(RefCell::new(items))));
            }
            b'a' | b'e' => {
                // APPEND, APPENDS
                let items = if op == b'e' {
                    pop_mark(&mut stack, &mut marks, at)?
                } else {
                    vec![pop(&mut stack, at)?]
                };
                match stack.last() {
                    Some(Value::List(l)) => l.borrow_mut().extend(items),
                    _ => {
                        return Err(format!(
                            "APPEND to something that is not a list at byte {at}"
                        ))
                    }
                }
            }
            b'0' => {
                pop(&mut stack, at)?;
            }
            b'1' => {
                pop_mark(&mut stack, &mut marks, at)?;
            }
            b'q' | b'r' | 0x94 => {
                // BINPUT, LONG_BINPUT, MEMOIZE
                let key = match op {
                    b'q' => r.u8()? as u32,
                    b'r' => r.u32()?,
                    _ => memo.len() as u32,
                };
                let top = stack
                    .last()
                    .ok_or_else(|| format!("nothing to memoise at byte {at}"))?;
                memo.insert(key, top.clone());
            }
            b'h' | b'j' => {
                // BINGET, LONG_BINGET
                let key = if op == b'h' { r.u8()? as u32 } else { r.u32()? };
                let v = memo
                    .get(&key)
                    .ok_or_else(|| format!("memo entry {key} used before it is set (byte {at})"))?;
                stack.push(v.clone());
            }
            b'c' => {
                // GLOBAL
                let module = r.line()?.to_string();
                let name = r.line()?.to_string();
                stack.push(Value::Global(Rc::new((module, name))));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = pop(&mut stack, at)?;
                let module = pop(&mut stack, at)?;
                match (module.as_text(), name.as_text()) {
                    (Some(m), Some(n)) => stack.push(Value::Global(Rc::new((m.into(), n.into())))),
                    _ => return Err(format!("STACK_GLOBAL without two names at byte {at}")),
                }
            }
            b'R' => {
                let args = pop(&mut stack, at)?;
                let func = pop(&mut stack, at)?;
                stack.push(reduce(&func, &args).map_err(|e| format!("{e} (byte {at})"))?);
            }
            b'b' => {
                let state = pop(&mut stack, at)?;
                let obj = stack
                    .last()
                    .ok_or_else(|| format!("BUILD on an empty stack at byte {at}"))?;
                build(obj, &state).map_err(|e| format!("{e} (byte {at})"))?;
            }
            other => {
                return Err(format!(
                    "unsupported pickle opcode 0x{other:02x} ({:?}) at byte {at}",
                    other as char
                ))
            }
        }
    }
}

/// `REDUCE`: calls one of the few callables that rebuild numpy arrays.
fn reduce<'a>(func: &Value<'a>, args: &Value<'a>) -> Result<Value<'a>, String> {
    let Value::Global(g) = func else {
        return Err(format!("REDUCE on {}, not a global", func.describe()));
    };
    let Value::Tuple(args) = args else {
        return Err(format!("REDUCE with {} as arguments", args.describe()));
    };
    match (g.0.as_str(), g.1.as_str()) {
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
            match args.first() {
                Some(Value::Global(c)) if c.0 == "numpy" && c.1 == "ndarray" => {}
                _ => return Err("_reconstruct of something other than numpy.ndarray".into()),
            }
            Ok(Value::Array(Rc::new(RefCell::new(NpArray {
                dtype: NpDtype {
                    kind: b'u',
                    size: 1,
                    little_endian: true,
                },
                shape: vec![0],
                data: None,
            }))))
        }
        ("numpy", "dtype") => {
            let descr = args
                .first()
                .and_then(Value::as_text)
                .ok_or_else(|| "numpy.dtype without a type string".to_string())?;
            let dtype = NpDtype::parse(descr)
                .ok_or_else(|| format!("unsupported numpy dtype {descr:?}"))?;
            Ok(Value::Dtype(Rc::new(RefCell::new(dtype))))
        }
        (m, n) => Err(format!("refusing to call {m}.{n}")),
    }
}

/// `BUILD`: gives a dtype its byte order, or an array its shape, dtype and data.
fn build<'a>(obj: &Value<'a>, state: &Value<'a>) -> Result<(), String> {
    let Value::Tuple(s) = state else {
        return Err(format!("BUILD with {} as state", state.describe()));
    };
    match obj {
        Value::Dtype(d) => {
            // (version, byte order, subarray, names, fields, elsize, alignment, flags)
            let order = s
                .get(1)
                .and_then(Value::as_text)
                .ok_or_else(|| "dtype state without a byte order".to_string())?;
            let mut d = d.borrow_mut();
            match order {
                "<" => d.little_endian = true,
                ">" => d.little_endian = false,
                "|" | "=" => {}
                o => return Err(format!("unknown byte order {o:?}")),
            }
            if s.get(3).is_some_and(|v| !matches!(v, Value::None)) {
                return Err("structured dtypes are not supported".into());
            }
            Ok(())
        }
        Value::Array(a) => {
            // (version, shape, dtype, is_fortran, raw data)
            let [version, shape, dtype, fortran, raw] = s.as_slice() else {
                return Err(format!("array state with {} items instead of 5", s.len()));
            };
            if version.as_int() != Some(1) {
                return Err(format!("array state version {}", version.describe()));
            }
            let Value::Tuple(shape) = shape else {
                return Err(format!("array shape is {}", shape.describe()));
            };
            let shape = shape
                .iter()
                .map(|v| v.as_int().and_then(|i| usize::try_from(i).ok()))
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| "array shape with a non-integer or negative size".to_string())?;
            let Value::Dtype(dtype) = dtype else {
                return Err(format!("array dtype is {}", dtype.describe()));
            };
            let dtype = *dtype.borrow();
            if fortran.as_int().unwrap_or(1) != 0 && shape.len() > 1 {
                return Err("Fortran-ordered arrays are not supported".into());
            }
            let Value::Bytes(data) = raw else {
                return Err(format!("array data is {}", raw.describe()));
            };
            let needed = shape
                .iter()
                .try_fold(dtype.size, |acc, &d| acc.checked_mul(d));
            if needed != Some(data.len()) {
                return Err(format!(
                    "an array of shape {shape:?} and dtype {dtype} needs {} bytes but has {}",
                    needed.map_or_else(|| "too many".into(), |n| n.to_string()),
                    data.len()
                ));
            }
            let mut a = a.borrow_mut();
            a.shape = shape;
            a.dtype = dtype;
            a.data = Some(data);
            Ok(())
        }
        other => Err(format!("BUILD on {}", other.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Writes a protocol-2 pickle shaped exactly like the real `mnist.pkl.gz` (same opcodes and
    /// memo layout), with `sizes[k]` images in split `k`.
    fn mnist_like_pickle(
        sizes: [usize; 3],
        images: &[Vec<f32>; 3],
        labels: &[Vec<i64>; 3],
    ) -> Vec<u8> {
        let mut p = vec![0x80, 2];
        let binput = |p: &mut Vec<u8>, k: u8| p.extend([b'q', k]);
        let short_str = |p: &mut Vec<u8>, s: &[u8]| {
            p.push(b'U');
            p.push(s.len() as u8);
            p.extend_from_slice(s);
        };
        let int = |p: &mut Vec<u8>, v: usize| {
            if v < 256 {
                p.extend([b'K', v as u8]);
            } else {
                p.push(b'M');
                p.extend((v as u16).to_le_bytes());
            }
        };
        let mut memo = 1u8;
        let mut first = true;
        let mut dtypes: Option<(u8, u8)> = None; // memo ids of f4, i8 dtypes
        for k in 0..3 {
            for (is_labels, raw) in [
                (
                    false,
                    images[k]
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect::<Vec<u8>>(),
                ),
                (
                    true,
                    labels[k]
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect::<Vec<u8>>(),
                ),
            ] {
                if first {
                    p.extend(b"cnumpy.core.multiarray\n_reconstruct\n");
                    binput(&mut p, 1);
                    p.extend(b"cnumpy\nndarray\n");
                    binput(&mut p, 2);
                    memo = 3;
                    first = false;
                } else {
                    p.extend([b'h', 1, b'h', 2]);
                }
                int(&mut p, 0);
                p.push(0x85);
                short_str(&mut p, b"b");
                p.push(0x87);
                p.push(b'R');
                binput(&mut p, memo);
                memo += 1;
                p.push(b'(');
                int(&mut p, 1);
                int(&mut p, sizes[k]);
                if is_labels {
                    p.push(0x85);
                } else {
                    int(&mut p, 784);
                    p.push(0x86);
                }
                let existing = dtypes.and_then(|(f, i)| {
                    if is_labels {
                        (i != 0).then_some(i)
                    } else {
                        Some(f)
                    }
                });
                match existing {
                    Some(id) => p.extend([b'h', id]),
                    None => {
                        if !is_labels {
                            p.extend(b"cnumpy\ndtype\n");
                            binput(&mut p, memo);
                            memo += 1;
                        } else {
                            p.extend([b'h', 4]);
                        }
                        short_str(&mut p, if is_labels { b"i8" } else { b"f4" });
                        int(&mut p, 0);
                        int(&mut p, 1);
                        p.push(0x87);
                        p.push(b'R');
                        let id = memo;
                        binput(&mut p, id);
                        memo += 1;
                        p.push(b'(');
                        int(&mut p, 3);
                        short_str(&mut p, b"<");
                        p.extend(b"NNN");
                        p.push(b'J');
                        p.extend((-1i32).to_le_bytes());
                        p.push(b'J');
                        p.extend((-1i32).to_le_bytes());
                        int(&mut p, 0);
                        p.push(b't');
                        p.push(b'b');
                        dtypes = Some(match dtypes {
                            None => (id, 0),
                            Some((f, _)) => (f, id),
                        });
                    }
                }
                p.push(0x89);
                p.push(b'T');
                p.extend((raw.len() as u32).to_le_bytes());
                p.extend(&raw);
                p.push(b't');
                p.push(b'b');
            }
            p.push(0x86);
            binput(&mut p, memo);
            memo += 1;
        }
        p.push(0x87);
        p.push(b'.');
        p
    }

    fn fixture() -> (Vec<u8>, [Vec<u8>; 3], [Vec<u8>; 3]) {
        let sizes = [2, 2, 2];
        let bytes: [Vec<u8>; 3] = std::array::from_fn(|k| {
            (0..sizes[k] * 784)
                .map(|i| ((i * 13 + k * 101) % 256) as u8)
                .collect()
        });
        let labels: [Vec<u8>; 3] = [vec![5, 0], vec![4, 1], vec![7, 2]];
        let imgs = bytes
            .clone()
            .map(|b| b.iter().map(|&x| x as f32 / 256.0).collect());
        let labs = labels
            .clone()
            .map(|l| l.iter().map(|&x| x as i64).collect());
        (mnist_like_pickle(sizes, &imgs, &labs), bytes, labels)
    }

    #[test]
    fn parses_mnist_shaped_pickle() {
        let (p, bytes, labels) = fixture();
        let m = parse_mnist_pickle(Path::new("mnist.pkl"), &p).unwrap();
        let (ti, tl) = &m.train;
        assert_eq!((ti.count, ti.rows, ti.cols), (4, 28, 28));
        assert_eq!(ti.pixels, [bytes[0].clone(), bytes[1].clone()].concat());
        assert_eq!(tl, &vec![5, 0, 4, 1]);
        assert_eq!(m.test.0.pixels, bytes[2]);
        assert_eq!(m.test.0.count, 2);
        assert_eq!(m.test.1, labels[2]);
    }

    #[test]
    fn reads_gzip_file() {
        let (p, _, _) = fixture();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnist.pkl.gz");
        std::fs::write(
            &path,
            crate::data::idx::gzip_bytes(&p, flate2::Compression::fast()),
        )
        .unwrap();
        let m = read_mnist_pickle(&path).unwrap();
        assert_eq!(m.train.0.count, 4);
    }

    fn bad_pickle(p: &[u8]) -> String {
        match parse_mnist_pickle(&PathBuf::from("data/mnist.pkl"), p) {
            Err(e @ DataError::BadPickle { .. }) => {
                let m = e.to_string();
                assert!(m.contains("data/mnist.pkl"), "{m}");
                m
            }
            other => panic!("expected BadPickle, got {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_pickles() {
        let (p, _, _) = fixture();
        // Every truncation fails cleanly, never panics.
        for cut in (0..p.len()).step_by(97).chain([p.len() - 1]) {
            bad_pickle(&p[..cut]);
        }
        // A pixel value that is not k/256.
        let sizes = [1, 1, 1];
        let mut imgs: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; 784]);
        let labs: [Vec<i64>; 3] = [vec![1], vec![2], vec![3]];
        imgs[1][5] = 0.3;
        let m = bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        assert!(m.contains("validation") && m.contains("0.3"), "{m}");
        imgs[1][5] = 1.0;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = f32::NAN;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = -1.0 / 256.0;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = 255.0 / 256.0;
        assert!(
            parse_mnist_pickle(Path::new("x"), &mnist_like_pickle(sizes, &imgs, &labs)).is_ok()
        );
        // A label out of range.
        let labs: [Vec<i64>; 3] = [vec![1], vec![2], vec![10]];
        let m = bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        assert!(m.contains("test label #0 is 10"), "{m}");
        let labs: [Vec<i64>; 3] = [vec![-1], vec![2], vec![1]];
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        // Code execution is refused.
        let m = bad_pickle(b"\x80\x02cos\nsystem\nU\x02lsq\x01\x85R.");
        assert!(m.contains("refusing to call os.system"), "{m}");
        // Not a pickle at all, and unknown opcodes.
        bad_pickle(b"");
        bad_pickle(b"\x80\x02\xff");
        bad_pickle(b"\x80\x02K\x01.");
        bad_pickle(b"\x80\x02t.");
        bad_pickle(b"\x80\x02h\x05.");
        bad_pickle(b"\x80\x02T\xff\xff\xff\xff");
    }

    #[test]
    fn other_opcodes() {
        let p = b"\x80\x02(K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x02\x00\x80\x8a\x00\x88\x89NX\x03\x00\x00\x00h\xc3\xa3C\x01z)]r\x00\x00\x00\x00(K\x02K\x03ej\x00\x00\x00\x00t.";
        let v = unpickle(p).unwrap();
        let Value::Tuple(t) = v else { panic!() };
        let ints: Vec<Option<i64>> = t.iter().map(Value::as_int).collect();
        assert_eq!(
            ints[..7],
            [
                Some(1),
                Some(256),
                Some(-1),
                Some(-32768),
                Some(0),
                Some(1),
                Some(0)
            ]
        );
        assert_eq!(t[8].as_text(), Some("h\u{e3}"));
        assert_eq!(t[9].as_text(), Some("z"));
        // The memoised list saw the APPENDS.
        let Value::List(l) = &t[12] else {
            panic!("{:?}", t[12])
        };
        assert_eq!(l.borrow().len(), 2);
    }

    #[test]
    fn dtype_parsing() {
        let d = NpDtype::parse(">i2").unwrap();
        assert_eq!(d.get_i128(&[0xff, 0xfe], 0), Some(-2));
        let d = NpDtype::parse("<u2").unwrap();
        assert_eq!(d.get_i128(&[0xff, 0xfe], 0), Some(0xfeff));
        assert_eq!(d.get_i128(&[0xff], 0), None);
        assert!(NpDtype::parse("O8").is_none());
        assert!(NpDtype::parse("").is_none());
        assert!(NpDtype::parse("f3").is_none());
    }

    /// Manual check against the real file (not committed): converts it and compares the SHA-256
    /// of the encoded IDX files with the official ones.
    #[test]
    #[ignore]
    fn real_mnist_pickle() {
        use crate::data::idx::{encode_idx_images, encode_idx_labels};
        use sha2::{Digest, Sha256};
        let path = std::env::var("MNIST_PKL")
            .unwrap_or_else(|_| "/tmp/dl/mh/mnist/data/mnist.pkl.gz".to_string());
        let m = read_mnist_pickle(Path::new(&path)).unwrap();
        let files = [
            encode_idx_images(&m.train.0),
            encode_idx_labels(&m.train.1),
            encode_idx_images(&m.test.0),
            encode_idx_labels(&m.test.1),
        ];
        let want = crate::data::DatasetKind::Mnist.sha256();
        for (f, w) in files.iter().zip(want) {
            let got = format!("{:x}", Sha256::digest(f));
            println!("{got}");
            assert_eq!(got, w);
        }
    }

    // Fuzzing by property: whatever bytes arrive, the reader returns a value or an error, never
    // panics, never loops. Cases: PROPTEST_CASES (256 by default; CI runs a bounded number).
    proptest::proptest! {
        #[test]
        fn any_mutation_of_a_valid_pickle_is_read_or_refused(
            edits in proptest::collection::vec((0usize..1_000_000, proptest::num::u8::ANY), 1..8),
            cut in proptest::option::of(0usize..1_000_000),
        ) {
            let (mut p, _, _) = fixture();
            for (at, b) in edits {
                let n = p.len();
                p[at % n] = b;
            }
            if let Some(c) = cut {
                let n = p.len();
                p.truncate(c % n);
            }
            let _ = parse_mnist_pickle(Path::new("fuzz.pkl"), &p);
        }

        #[test]
        fn random_bytes_are_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            proptest::prop_assert!(parse_mnist_pickle(Path::new("fuzz.pkl"), &bytes).is_err());
        }
    }
}
