//! PP-DEVICE: the device flow: the code response, the QR code, polling, denial, pages.

use std::io::Cursor;

use base64::Engine as _;
use profile::Level;
use serde_json::Value;

use super::{PageWording, page_shows_app, roles};
use crate::check::{Check, Ctx, str_of};
use crate::client::Req;
use crate::drivers::{enc, find_input, hidden_inputs};
use crate::kit::flows::{self, with_auth};
use crate::kit::made_up::made_up;
use crate::kit::time;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-DEVICE-1/device-code-response-has-every-field",
            "The device-code response carries user_code, device_code, the three verification URIs, expires_in and scope",
            run!(fields),
        )
        .budget("device-code", 1),
        Check::new(
            "PP-DEVICE-1/interval-lifetime-and-user-code-shape",
            "interval and expires_in are the profile's; user codes are 8 letters of the profile's alphabet, like WDJB-MJHT",
            run!(shapes),
        )
        .budget("device-code", 1)
        .part(Level::Decided),
        Check::new(
            "PP-DEVICE-2/qr-code-decodes-to-verification-uri-complete",
            "verification_uri_qr is a PNG data URI whose QR code decodes to verification_uri_complete",
            run!(qr),
        )
        .budget("device-code", 1),
        Check::new(
            "PP-DEVICE-3/polling-pending-then-tokens-once-then-expired",
            "Polling answers authorization_pending, then tokens exactly once, then expired",
            run!(polling_states),
        )
        .budget("device-code", 1)
        .budget("device-token", 3),
        Check::new(
            "PP-DEVICE-3/unknown-device-code-is-expired",
            "Polling with an unknown device code is 400 expired",
            run!(unknown_code),
        )
        .budget("device-token", 1),
        Check::new(
            "PP-DEVICE-3/timed-out-device-code-is-expired",
            "A device code past its lifetime polls as expired",
            run!(timed_out),
        )
        .budget("device-code", 1)
        .budget("device-token", 2)
        .exclusive()
        .waits(901),
        Check::new(
            "PP-DEVICE-4/denied-device-code-is-access-denied",
            "After the user denies, polling answers access_denied",
            run!(denied),
        )
        .budget("device-code", 1)
        .budget("device-token", 1),
        Check::new(
            "PP-DEVICE-5/activate-page-shows-app-and-scopes",
            "verification_uri is /activate, the complete URI adds user_code; the page shows the app and scopes and asks to approve or deny",
            run!(activate_page),
        )
        .budget("device-code", 1),
        Check::new(
            "PP-DEVICE-5/rfc8628-grant-type-is-accepted",
            "Polling with grant_type=urn:ietf:params:oauth:grant-type:device_code works",
            run!(rfc_grant_type),
        )
        .budget("device-code", 1)
        .budget("device-token", 2),
    ]
}

async fn fields(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let (r, b) = (&dc.resp, &dc.body);
    let keys = [
        "user_code",
        "device_code",
        "verification_uri",
        "verification_uri_complete",
        "verification_uri_qr",
        "scope",
    ];
    crate::kit::members::require_strings(ctx, r, b, &keys, "the device-code response")?;
    ensure!(
        b.get("expires_in")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0),
        r,
        "expires_in is {:?}, expected a positive number of seconds",
        b.get("expires_in")
    );
    Ok(())
}

async fn shapes(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let (r, b) = (&dc.resp, &dc.body);
    let lt = &ctx.env.profile.lifetimes;
    ensure!(
        b.get("expires_in").and_then(Value::as_u64) == Some(lt.device_code),
        r,
        "expires_in is {:?}, the profile says {}",
        b.get("expires_in"),
        lt.device_code
    );
    ensure!(
        b.get("interval").and_then(Value::as_u64) == Some(lt.device_poll_interval),
        r,
        "interval is {:?}, the profile says {}",
        b.get("interval"),
        lt.device_poll_interval
    );
    let d = &ctx.env.profile.expect_punchplay().device;
    let letters: String = dc.user_code.chars().filter(|c| *c != '-').collect();
    let half = d.user_code_length / 2;
    let shaped = letters.len() == d.user_code_length
        && letters.chars().all(|c| d.user_code_alphabet.contains(c))
        && dc.user_code.len() == d.user_code_length + 1
        && dc.user_code.as_bytes().get(half) == Some(&b'-');
    ensure!(
        shaped,
        r,
        "user_code {:?} is not {} letters of {:?} split by a dash, like WDJB-MJHT",
        dc.user_code,
        d.user_code_length,
        d.user_code_alphabet
    );
    Ok(())
}

/// Decodes a `data:image/png;base64,` URI's QR code.
pub fn decode_qr(data_uri: &str) -> Result<String, String> {
    let b64 = data_uri
        .strip_prefix("data:image/png;base64,")
        .ok_or("it is not a data:image/png;base64 URI")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("its base64 does not decode: {e}"))?;
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("it is not a PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("the PNG is too large")?];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("the PNG does not decode: {e}"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let luma = |x: usize, y: usize| -> u8 {
        let i = (y * w + x) * channels;
        match channels {
            1 | 2 => buf[i],
            _ => ((u32::from(buf[i]) + u32::from(buf[i + 1]) + u32::from(buf[i + 2])) / 3) as u8,
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    let grid = grids.first().ok_or("no QR code was found in the image")?;
    grid.decode()
        .map(|(_, s)| s)
        .map_err(|e| format!("the QR code does not decode: {e}"))
}

async fn qr(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let uri = str_of(&dc.resp, &dc.body, "verification_uri_qr")?;
    let decoded = decode_qr(uri).map_err(|e| dc.resp.fail(format!("verification_uri_qr: {e}")))?;
    ensure!(
        decoded == dc.complete,
        dc.resp,
        "the QR code decodes to {decoded:?}, not verification_uri_complete {:?}",
        dc.complete
    );
    ctx.note("the QR code decodes to verification_uri_complete");
    Ok(())
}

async fn polling_states(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let r = flows::device_poll(ctx, &tv, &dc.device_code).await?;
    ctx.error(&r, "authorization_pending")?;
    flows::device_decide(ctx, &dc, true).await?;
    flows::pace_device_poll(ctx).await?;
    let r = flows::poll_until_decided(ctx, &tv, &dc).await?;
    let body = ctx.ok_json(&r)?;
    let t = flows::Tokens::from(&r, &body)?;
    flows::pace_device_poll(ctx).await?;
    let r = flows::device_poll(ctx, &tv, &dc.device_code).await?;
    ctx.error(&r, "expired").map_err(|_| {
        r.fail(format!(
            "polling an already redeemed device code answered {} {}, expected 400 expired",
            r.status(),
            r.body()
        ))
    })?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn unknown_code(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let r = flows::device_poll(ctx, &tv, &made_up("conformance-unknown-device-code")).await?;
    ctx.error(&r, "expired")?;
    Ok(())
}

async fn timed_out(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    // The device code is issued between these readings of the target's clock.
    let issued_no_earlier = time::now(ctx).await?;
    let dc = flows::device_start(ctx, &tv, None).await?;
    let life = time::Lifetime {
        issued_no_earlier,
        issued_no_later: time::now(ctx).await?,
        secs: ctx.env.profile.lifetimes.device_code,
        what: "device code",
    };
    life.to_just_before_its_end(ctx).await?;
    let r = flows::device_poll(ctx, &tv, &dc.device_code).await?;
    if ctx.error(&r, "authorization_pending").is_err() {
        life.landed_before_its_end(ctx, "the poll").await?;
        return Err(r.fail(format!(
            "one second before its {} s lifetime ends, the device code polls as {} {}",
            life.secs,
            r.status(),
            r.body()
        )));
    }
    life.to_just_after_its_end(ctx).await?;
    let r = flows::device_poll(ctx, &tv, &dc.device_code).await?;
    ctx.error(&r, "expired")?;
    Ok(())
}

async fn denied(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    flows::device_decide(ctx, &dc, false).await?;
    let r = flows::poll_until_decided(ctx, &tv, &dc).await?;
    ctx.error(&r, "access_denied")?;
    Ok(())
}

/// The activate page a person opens from verification_uri, as PP-DEVICE failures name it.
const ACTIVATE_PAGE: PageWording = PageWording {
    answered: "the activate page",
    lacks_name: "the activate page does not name the app",
    lacks_scope: "the activate page does not show the scope",
};

async fn activate_page(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let activate = ctx.path("activate");
    let expect_uri = ctx.http.url(&activate);
    let vu = str_of(&dc.resp, &dc.body, "verification_uri")?.to_owned();
    ensure!(
        vu == expect_uri,
        dc.resp,
        "verification_uri is {vu:?}, expected {expect_uri:?}"
    );
    let complete = format!("{expect_uri}?user_code={}", enc(&dc.user_code));
    ensure!(
        dc.complete == complete,
        dc.resp,
        "verification_uri_complete is {:?}, expected {complete:?}",
        dc.complete
    );
    super::signed_in(ctx, false).await?;
    let path = format!("{activate}?user_code={}", enc(&dc.user_code));
    let r = ctx.send(Req::get(&path)).await?;
    let scope = dc
        .body
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    page_shows_app(&r, &ACTIVATE_PAGE, &tv, scope.split_whitespace())?;
    ensure!(
        find_input(r.body(), "user_code").is_some()
            && r.body().contains("value=\"approve\"")
            && r.body().contains("value=\"deny\""),
        r,
        "the activate page has no approve/deny form for the code"
    );
    let hidden = hidden_inputs(r.body(), "name=\"decision\"").unwrap_or_default();
    let r = ctx
        .send(Req::post(activate).page_form(
            hidden,
            [
                ("user_code", dc.user_code.as_str()),
                ("decision", "approve"),
            ],
        ))
        .await?;
    ensure!(
        r.status() == 200,
        r,
        "approving on the activate page answered {}",
        r.status()
    );
    Ok(())
}

async fn rfc_grant_type(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    let path = ctx.path("device_token");
    let form = with_auth(
        &tv,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", &dc.device_code),
        ],
    );
    let r = ctx.send(Req::post(&path).form(form.clone())).await?;
    ctx.error(&r, "authorization_pending")?;
    flows::device_decide(ctx, &dc, true).await?;
    if !ctx.env.driver.is_immediate() {
        return Err(Problem::skip("needs an immediate approval driver"));
    }
    let r = ctx.send(Req::post(&path).form(form)).await?;
    let b = ctx.ok_json(&r)?;
    ensure!(
        b.get("access_token").is_some(),
        r,
        "no access_token after approval"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::decode_qr;
    use base64::Engine as _;

    fn png_data_uri(text: &str) -> String {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("encodable");
        let width = code.width();
        let scale = 4;
        let quiet = 4;
        let side = (width + 2 * quiet) * scale;
        let colors = code.to_colors();
        let mut pixels = vec![255u8; side * side];
        for y in 0..width {
            for x in 0..width {
                if colors[y * width + x] == qrcode::Color::Dark {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            pixels[((y + quiet) * scale + dy) * side + (x + quiet) * scale + dx] =
                                0;
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().expect("header");
            w.write_image_data(&pixels).expect("data");
        }
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    #[test]
    fn a_qr_png_data_uri_decodes_to_its_text() {
        let url = "http://127.0.0.1:8080/activate?user_code=WDJB-MJHT";
        assert_eq!(decode_qr(&png_data_uri(url)).as_deref(), Ok(url));
    }

    #[test]
    fn other_data_is_refused_with_a_reason() {
        assert!(
            decode_qr("data:image/gif;base64,AAAA")
                .unwrap_err()
                .contains("data:image/png")
        );
        assert!(
            decode_qr("data:image/png;base64,AAAA")
                .unwrap_err()
                .contains("PNG")
        );
    }
}
