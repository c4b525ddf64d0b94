//! The text of an exported file: UTF-8 with or without a byte order mark, or UTF-16 (little or big endian) with one,
//! which is what Windows PowerShell writes by default.

use crate::error::Violation;

const HOW_TO_SAVE: &str = "save it as UTF-8, or as UTF-16 with a byte order mark";

/// Decodes a file's bytes to text. Accepts UTF-8 with or without a byte order mark and UTF-16 LE or BE with one;
/// the byte order mark is not part of the result. Refuses anything else with a message that says what was found
/// and how to save the file instead. The violation's path is empty: it concerns the file as a whole.
pub fn decode_text(bytes: &[u8]) -> Result<String, Violation> {
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest, 3),
        [0x00, 0x00, 0xFE, 0xFF, ..] | [0xFF, 0xFE, 0x00, 0x00, ..] => {
            Err(problem(format!("The file is UTF-32 text, which is not supported; {HOW_TO_SAVE}.")))
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, "UTF-16 LE", u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, "UTF-16 BE", u16::from_be_bytes),
        _ if bytes.contains(&0) => Err(problem(without_bom_message(bytes))),
        _ => utf8(bytes, 0),
    }
}

fn problem(message: String) -> Violation {
    Violation::new("", message)
}

/// UTF-8 text starting `offset` bytes into the file (after a byte order mark, if any).
fn utf8(bytes: &[u8], offset: usize) -> Result<String, Violation> {
    String::from_utf8(bytes.to_vec()).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let byte = bytes[at];
        problem(format!(
            "The file is not UTF-8 text: the byte 0x{byte:02X} at offset {} cannot start a UTF-8 character (the file \
             may use a legacy code page); {HOW_TO_SAVE}.",
            offset + at
        ))
    })
}

/// UTF-16 text after its byte order mark, with `unit` turning two bytes into one code unit.
fn utf16(bytes: &[u8], encoding: &str, unit: fn([u8; 2]) -> u16) -> Result<String, Violation> {
    if !bytes.len().is_multiple_of(2) {
        return Err(problem(format!(
            "The file is {encoding} text (by its byte order mark) but has an odd number of bytes, so its last \
             character is cut off; the file is probably truncated."
        )));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]])).collect();
    String::from_utf16(&units).map_err(|_| {
        let position = char::decode_utf16(units.iter().copied())
            .scan(0usize, |at, decoded| {
                let here = *at;
                *at += decoded.as_ref().map_or(1, |c| c.len_utf16());
                Some((here, decoded))
            })
            .find_map(|(at, decoded)| decoded.err().map(|error| (at, error.unpaired_surrogate())));
        let detail = position.map_or_else(String::new, |(at, surrogate)| {
            // The byte order mark takes the first two bytes.
            format!(": the code unit 0x{surrogate:04X} at offset {} is half of a character", 2 + 2 * at)
        });
        problem(format!("The file is not valid {encoding} text{detail}; {HOW_TO_SAVE}."))
    })
}

/// Why a file without a byte order mark that contains NUL bytes is refused: most likely UTF-16 without its mark.
fn without_bom_message(bytes: &[u8]) -> String {
    let zeros_at = |parity: usize| bytes.iter().skip(parity).step_by(2).take(64).filter(|b| **b == 0).count();
    let pairs = bytes.len().min(128) / 2;
    let (even, odd) = (zeros_at(0), zeros_at(1));
    if pairs > 0 && (odd * 2 > pairs || even * 2 > pairs) {
        let order = if odd > even { "little endian" } else { "big endian" };
        format!(
            "The file looks like UTF-16 text ({order}) without a byte order mark, so its encoding cannot be told for \
             sure; {HOW_TO_SAVE}."
        )
    } else {
        format!("The file contains NUL bytes, so it is not a text file; {HOW_TO_SAVE}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\"name\": \"Pare-feu — été ✓ 🔥\"}";

    fn utf16_bytes(text: &str, little_endian: bool) -> Vec<u8> {
        let mut bytes = if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for unit in text.encode_utf16() {
            bytes.extend(if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        bytes
    }

    #[test]
    fn utf8_is_read_with_or_without_a_byte_order_mark() {
        assert_eq!(decode_text(TEXT.as_bytes()), Ok(TEXT.to_owned()));
        let with_bom = [&[0xEF, 0xBB, 0xBF], TEXT.as_bytes()].concat();
        assert_eq!(decode_text(&with_bom), Ok(TEXT.to_owned()));
        assert_eq!(decode_text(b""), Ok(String::new()));
    }

    #[test]
    fn utf16_is_read_in_both_byte_orders_after_its_byte_order_mark() {
        assert_eq!(decode_text(&utf16_bytes(TEXT, true)), Ok(TEXT.to_owned()));
        assert_eq!(decode_text(&utf16_bytes(TEXT, false)), Ok(TEXT.to_owned()));
        assert_eq!(decode_text(&[0xFF, 0xFE]), Ok(String::new()));
    }

    #[test]
    fn broken_utf16_is_refused_with_the_reason() {
        let mut odd = utf16_bytes(TEXT, true);
        odd.pop();
        let message = decode_text(&odd).expect_err("odd length").message;
        assert!(message.contains("UTF-16 LE") && message.contains("odd number of bytes"), "{message}");

        let mut lone = utf16_bytes("{}", false);
        lone.extend([0xD8, 0x3D, 0x00, 0x41]);
        let violation = decode_text(&lone).expect_err("unpaired surrogate");
        assert_eq!(violation.path, "");
        assert!(violation.message.contains("0xD83D at offset 6"), "{}", violation.message);
    }

    #[test]
    fn utf16_without_a_byte_order_mark_is_refused_as_such() {
        let little: Vec<u8> = utf16_bytes(TEXT, true).split_off(2);
        let message = decode_text(&little).expect_err("no BOM").message;
        assert!(message.contains("UTF-16") && message.contains("little endian"), "{message}");
        let big: Vec<u8> = utf16_bytes(TEXT, false).split_off(2);
        assert!(decode_text(&big).expect_err("no BOM").message.contains("big endian"));
        let binary = [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x41, 0x42];
        assert!(decode_text(&binary).expect_err("binary").message.contains("NUL bytes"));
    }

    #[test]
    fn legacy_code_pages_and_utf32_are_refused_with_the_offset() {
        let latin1 = b"{\"name\": \"caf\xE9\"}";
        let message = decode_text(latin1).expect_err("latin-1").message;
        assert!(message.contains("0xE9 at offset 13"), "{message}");
        let with_bom = [&[0xEF, 0xBB, 0xBF][..], latin1].concat();
        assert!(decode_text(&with_bom).expect_err("latin-1").message.contains("offset 16"));
        let utf32 = [0xFF, 0xFE, 0x00, 0x00, b'{', 0, 0, 0];
        assert!(decode_text(&utf32).expect_err("utf-32").message.contains("UTF-32"));
    }
}
