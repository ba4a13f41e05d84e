//! WeCom callbacks (指令回调): signed, encrypted messages (WXBizMsgCrypt)
//! carrying the `suite_ticket`, installs and authorization changes.
//!
//! ```no_run
//! use corp_auth::wecom::callback::{Crypto, Event};
//! # async fn run(suite: corp_auth::wecom::Suite, q: (&str, &str, &str), body: &str) -> Result<(), corp_auth::Error> {
//! let crypto = Crypto::new("callback-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww-suite-id")?;
//! let (msg_signature, timestamp, nonce) = q; // the POST's query parameters
//! match crypto.decrypt_event(msg_signature, timestamp, nonce, body)? {
//!     event @ Event::SuiteTicket { .. } => {
//!         suite.handle_event(&event).await?; // newer ticket wins
//!     }
//!     Event::CreateAuth { auth_code, .. } => { /* record it, answer "success", then exchange it once */ }
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! Every check happens before anything is decrypted or parsed: the
//! signature (SHA-1 over the sorted token, timestamp, nonce and ciphertext,
//! compared in constant time), then Base64, the AES-256-CBC block size, the
//! 32-byte PKCS#7 padding (values 1..=32, all bytes equal), the length field,
//! UTF-8 and the receive id. Each failure is [`Error::Callback`] with its
//! [`CallbackFailure`]; nothing partial is ever returned.

mod event;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::Aes256;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

pub use event::{AutoActivatedAccount, Event};

use crate::{Error, Secret};

pub use crate::error::CallbackFailure;

/// Base64 as WeCom's samples decode it: standard alphabet, padding optional,
/// trailing bits allowed (a 43-character `EncodingAESKey` plus `=` has some).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The callback crypto of one receiver (WXBizMsgCrypt): verifies, decrypts
/// and encrypts. Cheap to clone. `Debug` shows the receive id only.
#[derive(Clone)]
pub struct Crypto {
    token: Secret,
    key: [u8; 32],
    receive_ids: Vec<String>,
    provider_corpid: Option<String>,
    max_age: Option<Duration>,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto")
            .field("token", &self.token)
            .field("key", &"***")
            .field("receive_ids", &self.receive_ids)
            .field("provider_corpid", &self.provider_corpid)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl Drop for Crypto {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

impl Crypto {
    /// The crypto for callbacks signed with `token` and encrypted with
    /// `encoding_aes_key` (43 characters of `[A-Za-z0-9]`, from the console)
    /// for `receive_id`: the suite id for provider (指令回调) callbacks, the
    /// corpid for a corp's own app, empty for apps of individual providers.
    ///
    /// A key that is not 43 characters of `[A-Za-z0-9]`, or an empty token,
    /// is [`Error::Config`].
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, Error> {
        let config = |setting: &'static str, reason: &str| Error::Config {
            setting,
            reason: reason.to_string(),
        };
        if token.is_empty() {
            return Err(config("token", "must not be empty"));
        }
        if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(config("encoding_aes_key", "must be 43 characters of [A-Za-z0-9]"));
        }
        let decoded = LENIENT
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| config("encoding_aes_key", "is not Base64"))?;
        let key: [u8; 32] = decoded
            .try_into()
            .map_err(|_| config("encoding_aes_key", "does not decode to 32 bytes"))?;
        Ok(Self {
            token: Secret::from(token),
            key,
            receive_ids: vec![receive_id.to_string()],
            provider_corpid: None,
            max_age: None,
        })
    }

    /// The provider's corpid (服务商的corpid): WeCom encrypts the console's
    /// URL check (the GET when the 指令回调 URL is saved) for it, not for the
    /// suite id. [`verify_url`](Crypto::verify_url) then accepts it besides
    /// the receive id; POSTed callbacks still must be for the receive id.
    pub fn provider_corpid(mut self, corpid: &str) -> Self {
        self.provider_corpid = Some(corpid.to_string());
        self
    }

    /// Also accepts messages for `receive_id`. Opt-in, for the reported
    /// quirk that `create_auth` may arrive encrypted for the provider's
    /// corpid instead of the suite id: name that corpid here rather than
    /// turning the check off.
    pub fn also_accept_receive_id(mut self, receive_id: &str) -> Self {
        self.receive_ids.push(receive_id.to_string());
        self
    }

    /// Refuses callbacks whose `timestamp` is more than `max_age` away from
    /// this machine's clock ([`CallbackFailure::Expired`]). Off by default:
    /// WeCom documents no bound on delivery delay or its clock, retries
    /// deliveries, and the events are safe to replay (a ticket is stored
    /// only if newer; an `auth_code` works once). Turn it on as extra
    /// defence when your clocks are synchronized.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The URL check WeCom makes when the callback URL is saved (GET with
    /// `msg_signature`, `timestamp`, `nonce`, `echostr`): verifies and
    /// decrypts `echostr` (as received: URL-decoded by the framework); reply
    /// with the returned text.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, Error> {
        self.check(msg_signature, timestamp, nonce, echostr)?;
        // The console's check is encrypted for the provider's corpid (WeCom
        // staff; EasyWeChat #1300), older setups for the receive id,
        // individual providers for the empty id.
        self.open(echostr, true)
    }

    /// Verifies and decrypts a POSTed callback body
    /// (`<xml>…<Encrypt>…</Encrypt>…</xml>`) into the event's XML.
    pub fn decrypt(&self, msg_signature: &str, timestamp: &str, nonce: &str, body: &str) -> Result<String, Error> {
        let encrypted = event::encrypted_part(body)?;
        self.check(msg_signature, timestamp, nonce, &encrypted)?;
        self.open(&encrypted, false)
    }

    /// [`decrypt`](Crypto::decrypt), then parses the event.
    pub fn decrypt_event(&self, msg_signature: &str, timestamp: &str, nonce: &str, body: &str) -> Result<Event, Error> {
        Event::parse(&self.decrypt(msg_signature, timestamp, nonce, body)?)
    }

    /// Encrypts `plaintext` for this receive id (a passive reply, or a test
    /// callback): `<xml><Encrypt>…</Encrypt><MsgSignature>…</MsgSignature>
    /// <TimeStamp>…</TimeStamp><Nonce>…</Nonce></xml>`.
    pub fn encrypt(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<String, Error> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| Error::Config {
            setting: "random",
            reason: format!("the system random source failed: {e}"),
        })?;
        let encrypted = self.seal(&random, plaintext);
        let signature = self.signature(timestamp, nonce, &encrypted);
        Ok(format!(
            "<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>\
             <TimeStamp>{}</TimeStamp><Nonce><![CDATA[{}]]></Nonce></xml>",
            event::escape(timestamp),
            nonce.replace("]]>", "]]]]><![CDATA[>"),
        ))
    }

    /// `msg_signature` of `encrypted`: hex(SHA-1(sorted parts joined)),
    /// lowercase.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        String::from_utf8(self.signature_hex(timestamp, nonce, encrypted).to_vec()).expect("hex is ASCII")
    }

    fn signature_hex(&self, timestamp: &str, nonce: &str, encrypted: &str) -> [u8; 40] {
        let mut parts = [self.token.expose_secret(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for part in parts {
            sha.update(part.as_bytes());
        }
        let digest = sha.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 40];
        for (i, b) in digest.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        hex
    }

    /// Signature (constant time) and, when set, the timestamp's age.
    fn check(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypted: &str) -> Result<(), Error> {
        let expected = self.signature_hex(timestamp, nonce, encrypted);
        let given = msg_signature.trim().as_bytes();
        let mut lower = [0u8; 40];
        if given.len() == 40 {
            for (l, g) in lower.iter_mut().zip(given) {
                *l = g.to_ascii_lowercase();
            }
        }
        if given.len() != 40 || !bool::from(expected.ct_eq(&lower)) {
            return Err(fail(CallbackFailure::Signature));
        }
        if let Some(max_age) = self.max_age {
            let sent: i64 = timestamp.trim().parse().map_err(|_| fail(CallbackFailure::Expired))?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            if now.abs_diff(sent) > max_age.as_secs() {
                return Err(fail(CallbackFailure::Expired));
            }
        }
        Ok(())
    }

    fn iv(&self) -> [u8; 16] {
        self.key[..16].try_into().expect("16 bytes")
    }

    /// Decrypts a verified ciphertext: Base64, AES-256-CBC, 32-byte PKCS#7,
    /// `random(16) | len(4, BE) | msg | receive_id`.
    /// Decrypts `encrypted`; the message must be for a receive id of this
    /// `Crypto` or the empty id (individual providers), or, for the URL
    /// check (`url_check`), the provider's corpid.
    fn open(&self, encrypted: &str, url_check: bool) -> Result<String, Error> {
        let mut data = LENIENT
            .decode(encrypted.trim())
            .map_err(|_| fail(CallbackFailure::Base64))?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(fail(CallbackFailure::BlockSize));
        }
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| fail(CallbackFailure::BlockSize))?;
        let pad = usize::from(*plain.last().expect("non-empty"));
        if !(1..=32).contains(&pad)
            || pad > plain.len()
            || plain[plain.len() - pad..].iter().any(|&b| usize::from(b) != pad)
        {
            return Err(fail(CallbackFailure::Padding));
        }
        let content = &plain[..plain.len() - pad];
        if content.len() < 20 {
            return Err(fail(CallbackFailure::Length));
        }
        let len = u32::from_be_bytes(content[16..20].try_into().expect("4 bytes")) as usize;
        let rest = &content[20..];
        if len > rest.len() {
            return Err(fail(CallbackFailure::Length));
        }
        let (message, receive_id) = rest.split_at(len);
        let message = std::str::from_utf8(message).map_err(|_| fail(CallbackFailure::Utf8))?;
        let known = receive_id.is_empty()
            || self.receive_ids.iter().any(|id| id.as_bytes() == receive_id)
            || (url_check
                && self
                    .provider_corpid
                    .as_ref()
                    .is_some_and(|id| id.as_bytes() == receive_id));
        if !known {
            return Err(fail(CallbackFailure::ReceiveId));
        }
        Ok(message.to_string())
    }

    /// Encrypts `message` with the given 16-byte random prefix.
    fn seal(&self, random: &[u8; 16], message: &str) -> String {
        let receive_id = self.receive_ids[0].as_bytes();
        let mut data = Vec::with_capacity(20 + message.len() + receive_id.len() + 32);
        data.extend_from_slice(random);
        data.extend_from_slice(&(message.len() as u32).to_be_bytes());
        data.extend_from_slice(message.as_bytes());
        data.extend_from_slice(receive_id);
        let pad = 32 - data.len() % 32;
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let len = data.len();
        let sealed = cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut data, len)
            .expect("a multiple of the block size");
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }
}

/// The corp a POST to an app's own callback URL (数据回调) is for: the
/// envelope's plaintext `ToUserName`, read before anything is verified. Use
/// it only to pick the receiver — a [`Crypto`] whose receive id is that
/// corpid, for a corp you know — whose check then proves it: the
/// ciphertext carries the corpid it was encrypted for. `None` when the
/// envelope has none (a 指令回调 or system-event envelope).
pub fn addressed_corp(body: &str) -> Option<String> {
    event::envelope_element(body, "ToUserName")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
}

fn fail(kind: CallbackFailure) -> Error {
    Error::Callback { kind }
}
