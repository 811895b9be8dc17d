//! A self-contained HTML contact sheet of gallery runs: every image as an
//! embedded thumbnail with its idea, seed, size and prompt. Everything
//! taken from the gallery is escaped; nothing is fetched when it is opened.

use base64::Engine;
use mural_gallery::Run;

const HEAD: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>mural contact sheet</title><style>body{font:14px system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}\
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px}\
img{width:100%;height:auto;border-radius:4px}figcaption{font-size:12px;margin-top:6px;overflow-wrap:anywhere}\
.idea{font-weight:600}@media (prefers-color-scheme: dark){body{background:#161616;color:#ddd}figure{background:#222;border-color:#333}}</style></head><body><h1>mural contact sheet</h1><div class=\"grid\">\n";

/// The page, and how many images it shows. `read` gives an image file's
/// bytes (`None`: the file is gone, and the page says so).
pub fn contact_sheet(runs: &[Run], read: impl Fn(&str) -> Option<Vec<u8>>) -> (String, usize) {
    let mut page = String::from(HEAD);
    let mut count = 0;
    for r in runs {
        for i in &r.images {
            let thumb = read(&i.file)
                .and_then(|b| mural_paint::thumbnail(&b, 256).ok())
                .map(|t| {
                    format!(
                        "data:image/png;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(t)
                    )
                });
            let img = match thumb {
                Some(src) => format!("<img src=\"{src}\" alt=\"{}\">", escape(&r.idea)),
                None => "<p>(image file missing)</p>".to_string(),
            };
            page.push_str(&format!(
                "<figure>{img}<figcaption><div class=\"idea\">#{} · {}</div><div>seed {} · {}x{}</div><p>{}</p></figcaption></figure>\n",
                r.id,
                escape(&r.idea),
                i.seed,
                i.width,
                i.height,
                escape(&i.prompt)
            ));
            count += 1;
        }
    }
    page.push_str("</div></body></html>\n");
    (page, count)
}

/// Text made safe for HTML, in content and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}
