/// The dashboard's style sheet and script, compiled into the binary and served as
/// `/static/app.css` and `/static/app.js`.
///
/// The pages' content security policy allows only these files (`style-src 'self'`,
/// `script-src 'self'`): nothing relies on inline styles, inline scripts or event-handler
/// attributes. Every page works without the script; it only shows times in the browser's zone and
/// refreshes `#live` (and the `.banner`) when `/api/events` reports a change.
public enum WebsiteAssets {
    /// Light and dark themes (`prefers-color-scheme`) through custom properties; readable from
    /// 360 px phones to laptops; styles the `SVGChart` classes too. No external URL, no web font.
    public static let css = #"""
        :root{color-scheme:light dark;--bg:#f4f6f8;--surface:#fff;--fg:#1a1f26;--muted:#5d6876;--border:#d6dbe2;--accent:#2457d6;--accent-fg:#fff;
        --up:#12844f;--down:#cf2e3a;--warn:#a86400;--info:#1f6fb8;--grid:#e7eaef;--axis:#a3adb9;--area:#2457d6;--halo:#fff;
        --c0:#2457d6;--c1:#d9730d;--c2:#8e44ad;--c3:#0f8c8c;--c4:#c2185b;--c5:#6b7d12;--radius:8px;
        --font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;
        --mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace}
        @media (prefers-color-scheme:dark){:root{--bg:#0e1217;--surface:#161b22;--fg:#e4e8ee;--muted:#98a4b3;--border:#2b333e;--accent:#6d9cff;--accent-fg:#0e1217;
        --up:#2fbf7a;--down:#f2555f;--warn:#e0a030;--info:#5aa9ee;--grid:#222a34;--axis:#4b5664;--area:#6d9cff;--halo:#161b22;
        --c0:#6d9cff;--c1:#f0a04b;--c2:#c38bf0;--c3:#3cc7c7;--c4:#f06292;--c5:#b5cc3a}}
        *,*::before,*::after{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 var(--font);overflow-wrap:break-word}
        a{color:var(--accent)}
        h1{font-size:1.5rem;margin:.4em 0 .6em}h2{font-size:1.15rem;margin:1.6em 0 .6em}h3{font-size:1rem;margin:0 0 .5em}
        code,pre,kbd{font-family:var(--mono);font-size:.9em}
        .muted{color:var(--muted)}
        .pos{color:var(--up)}.neg{color:var(--down)}
        header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem;padding:.6rem max(1rem,calc((100% - 1200px)/2));background:var(--surface);border-bottom:1px solid var(--border)}
        header.top .brand{font-weight:700;font-size:1.1rem;color:var(--fg);text-decoration:none;margin-right:.5rem}
        header.top nav{display:flex;flex-wrap:wrap;gap:.2rem;flex:1 1 auto}
        header.top nav a{padding:.35rem .6rem;border-radius:6px;color:var(--fg);text-decoration:none}
        header.top nav a:hover{background:var(--grid)}
        header.top nav a[aria-current="page"]{background:var(--accent);color:var(--accent-fg)}
        #live-status{font-size:.8rem;padding:.1rem .55rem;border-radius:999px;border:1px solid var(--border);color:var(--muted)}
        #live-status:empty{display:none}
        #live-status.live-on{color:var(--up);border-color:var(--up)}
        #live-status.live-on::before{content:"● "}
        #live-status.live-off{color:var(--warn);border-color:var(--warn)}
        main,.banner,footer{max-width:1200px;margin-left:auto;margin-right:auto}
        main{padding:.5rem 1rem 2rem}
        footer{padding:1rem;font-size:.85rem}
        .banner{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.6rem 1rem;margin-top:1rem;width:calc(100% - 2rem);padding:.7rem 1rem;border-radius:var(--radius);border:1px solid var(--border);border-left:6px solid var(--info);background:var(--surface)}
        .banner form{margin:0}
        .banner.mode-validate{border-left-color:var(--warn)}
        .banner.mode-live{border-left-color:var(--down)}
        .banner.mode-live .mode{color:var(--down)}
        .banner.paused{border-color:var(--warn);border-left-color:var(--warn);background-image:repeating-linear-gradient(135deg,transparent 0 14px,color-mix(in srgb,var(--warn) 10%,transparent) 14px 28px)}
        .banner .paused-label{color:var(--warn)}
        button,.button{font:inherit;font-size:.95rem;padding:.45rem .9rem;min-height:2.25rem;border-radius:6px;border:1px solid var(--border);background:var(--surface);color:var(--fg);cursor:pointer}
        button:hover{border-color:var(--accent)}
        button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
        button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
        button.danger{background:var(--down);border-color:var(--down);color:#fff}
        button.primary:hover,button.danger:hover{filter:brightness(1.08)}
        form.inline{display:inline;margin:0}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,260px),1fr));gap:1rem;margin:1rem 0}
        .card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1rem;min-width:0}
        .card h3{display:flex;align-items:center;justify-content:space-between;gap:.5rem}
        .card dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .8rem;margin:0}
        .card dt{color:var(--muted)}.card dd{margin:0;font-variant-numeric:tabular-nums;min-width:0}
        .card .log-line{margin:.6rem 0 0;font-family:var(--mono);font-size:.8rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        .badge{display:inline-block;font-size:.75rem;font-weight:600;padding:.1rem .5rem;border-radius:999px;border:1px solid currentColor;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap}
        .state-running{color:var(--up)}.state-stale{color:var(--warn)}.state-stopped{color:var(--down)}.state-unknown{color:var(--muted)}
        .totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,150px),1fr));gap:.75rem;margin:1rem 0}
        .stat{display:flex;flex-direction:column;background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:.7rem .9rem}
        .stat .value{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}
        .stat .label{font-size:.8rem;color:var(--muted)}
        .table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--border);border-radius:var(--radius);background:var(--surface)}
        table.data{width:100%;border-collapse:collapse;font-size:.9rem}
        table.data th,table.data td{padding:.45rem .65rem;text-align:left;border-bottom:1px solid var(--border);white-space:nowrap;vertical-align:top}
        table.data th{font-weight:600;color:var(--muted);background:var(--bg);position:sticky;top:0}
        table.data tbody tr:last-child td{border-bottom:0}
        table.data tbody tr:hover{background:color-mix(in srgb,var(--accent) 6%,transparent)}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        td.error-text{color:var(--down);white-space:normal;min-width:12rem}
        .pills{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0 1rem}
        .pills a{padding:.3rem .7rem;border:1px solid var(--border);border-radius:999px;background:var(--surface);text-decoration:none;color:var(--fg);font-size:.9rem}
        .pills a[aria-current="page"]{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
        label{display:inline-flex;flex-direction:column;gap:.2rem;font-size:.9rem;color:var(--muted)}
        label.check{flex-direction:row;align-items:center;gap:.4rem;color:var(--fg)}
        input,select,textarea{font:inherit;font-size:1rem;color:var(--fg);background:var(--surface);border:1px solid var(--border);border-radius:6px;padding:.4rem .55rem;min-height:2.25rem;max-width:100%}
        input[type=checkbox]{min-height:0;width:1.1rem;height:1.1rem}
        input[aria-invalid=true]{border-color:var(--down)}
        .field-error{color:var(--down);font-size:.85rem}
        form.filters,form.params{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.75rem;margin:1rem 0}
        form.params label{flex:1 1 12rem}
        form.params small{font-size:.78rem}
        .notice,.error{padding:.6rem .9rem;border-radius:var(--radius);border:1px solid;margin:1rem 0}
        .notice{border-color:var(--up);background:color-mix(in srgb,var(--up) 10%,var(--surface))}
        .error{border-color:var(--down);background:color-mix(in srgb,var(--down) 10%,var(--surface))}
        .pagination{display:flex;justify-content:space-between;gap:1rem;margin:1rem 0}
        .pagination a{padding:.4rem .8rem;border:1px solid var(--border);border-radius:6px;background:var(--surface);text-decoration:none}
        pre.log{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:.75rem;overflow-x:auto;font-size:.8rem;line-height:1.45;margin:0}
        .lvl-critical,.lvl-error{color:var(--down)}.lvl-warning{color:var(--warn)}.lvl-notice{color:var(--info)}.lvl-info{color:var(--fg)}.lvl-debug,.lvl-trace{color:var(--muted)}
        .login{max-width:22rem;margin:12vh auto;background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1.5rem}
        .login form{display:flex;flex-direction:column;gap:1rem}
        .login label{display:flex}
        .chart{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:.4rem;margin:.5rem 0 1rem;overflow-x:auto;overflow-y:hidden;direction:rtl}
        .chart>*{direction:ltr}
        svg.chart{display:block;width:100%;height:auto;padding:0;margin:0;border:0;background:none;font-family:var(--font);font-size:11px;fill:var(--fg)}
        svg.chart-line{font-size:9.5px}
        svg.chart text{fill:var(--muted);font-variant-numeric:tabular-nums}
        svg.chart .lg{fill:var(--fg)}
        svg.chart .title{font-weight:600;fill:var(--fg)}
        svg.chart .y{paint-order:stroke;stroke:var(--halo);stroke-width:3px;stroke-linejoin:round}
        svg.chart-empty{height:3rem}
        svg.chart .empty{font-size:14px}
        svg.chart .grid{stroke:var(--grid);stroke-width:1px;fill:none;vector-effect:non-scaling-stroke}
        svg.chart .guide{stroke-dasharray:4 4;stroke:var(--axis);opacity:.6}
        svg.chart .axis{stroke:var(--axis);stroke-width:1px;fill:none;vector-effect:non-scaling-stroke}
        svg.chart .line{stroke:var(--c0);stroke-width:2px;fill:none;stroke-linejoin:round;vector-effect:non-scaling-stroke}
        svg.chart .area{fill:var(--area);opacity:.12;stroke:none}
        svg.chart .dot{fill:var(--c0)}
        svg.chart .body.up{fill:var(--up)}svg.chart .body.down{fill:var(--down)}
        svg.chart .wick{stroke-width:1px;vector-effect:non-scaling-stroke}
        svg.chart .wick.up{stroke:var(--up)}svg.chart .wick.down{stroke:var(--down)}
        svg.chart .vol{opacity:.4}svg.chart .vol.up{fill:var(--up)}svg.chart .vol.down{fill:var(--down)}
        svg.chart .overlay,svg.chart .osc{fill:none;stroke-width:1.5px;stroke-linejoin:round;vector-effect:non-scaling-stroke}
        svg.chart .overlay-0{stroke:var(--c0)}svg.chart .overlay-1{stroke:var(--c1)}svg.chart .overlay-2{stroke:var(--c2)}
        svg.chart .overlay-3{stroke:var(--c3)}svg.chart .overlay-4{stroke:var(--c4)}svg.chart .overlay-5{stroke:var(--c5)}
        svg.chart .sw{stroke:none}
        svg.chart .sw.overlay-0{fill:var(--c0)}svg.chart .sw.overlay-1{fill:var(--c1)}svg.chart .sw.overlay-2{fill:var(--c2)}
        svg.chart .sw.overlay-3{fill:var(--c3)}svg.chart .sw.overlay-4{fill:var(--c4)}svg.chart .sw.overlay-5{fill:var(--c5)}
        svg.chart .sw-buy{fill:var(--up)}svg.chart .sw-sell{fill:var(--down)}
        svg.chart .mk{stroke:var(--halo);stroke-width:1px;transform-box:fill-box}
        svg.chart .buy{fill:var(--up);transform-origin:50% 0}
        svg.chart .sell{fill:var(--down);transform-origin:50% 100%}
        svg.chart .mk:hover{stroke:var(--fg)}
        @media (max-width:760px){
        body{font-size:15px}
        main{padding:.25rem .75rem 1.5rem}
        .banner{width:calc(100% - 1.5rem)}
        header.top{padding:.5rem .75rem}
        .chart{padding:.2rem}
        svg.chart{font-size:16px}
        svg.chart-line{font-size:15px}
        svg.chart-candles{min-width:640px}
        svg.chart-line .t.minor{display:none}
        svg.chart .mk{transform:scale(1.4)}
        }
        @media (max-width:480px){
        h1{font-size:1.3rem}
        svg.chart-line{font-size:23px}
        svg.chart-line .y{stroke-width:5px}
        svg.chart-line .dot{r:7px}
        svg.chart-line .dot.single{r:10px}
        .stat .value{font-size:1.15rem}
        }
        """#

    /// Vanilla ES2017 in an IIFE: localises `<time datetime>` and SVG `text[data-time]` (then
    /// sets `data-times-local="1"` on `<html>`), and keeps `#live` and the `.banner` current from
    /// `/api/events` (debounced, one request in flight, never while something inside them has
    /// focus). Every lookup is guarded; it never throws.
    public static let javascript = #"""
        (function () {
          'use strict';
          var EVENTS = ['candle', 'signal', 'order', 'fill', 'service', 'pause'];
          var DEBOUNCE_MS = 1500;
          var FOCUS_RETRY_MS = 3000;

          function pad(n) { return (n < 10 ? '0' : '') + n; }

          function parseTime(text) {
            if (!text || text.indexOf('T') < 0) { return null; }
            var date = new Date(text);
            return isNaN(date.getTime()) ? null : date;
          }

          function longFormat(date) {
            try {
              return date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
            } catch (e) {
              try {
                return date.toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
              } catch (e2) {
                return date.toString();
              }
            }
          }

          function localizeTimes(root) {
            if (!root || !root.querySelectorAll) { return; }
            var times = root.querySelectorAll('time[datetime]');
            for (var i = 0; i < times.length; i++) {
              var element = times[i];
              var date = parseTime(element.getAttribute('datetime'));
              if (!date) { continue; }
              element.textContent = longFormat(date);
              element.setAttribute('title', element.getAttribute('datetime'));
            }
            var labels = root.querySelectorAll('text[data-time]');
            for (var j = 0; j < labels.length; j++) {
              var label = labels[j];
              var at = parseTime(label.getAttribute('data-time'));
              if (!at) { continue; }
              label.textContent = pad(at.getMonth() + 1) + '-' + pad(at.getDate()) + ' ' + pad(at.getHours()) + ':' + pad(at.getMinutes());
            }
          }

          function setStatus(on) {
            var status = document.getElementById('live-status');
            if (!status) { return; }
            status.textContent = on ? 'live' : 'reconnecting\u2026';
            status.classList.remove(on ? 'live-off' : 'live-on');
            status.classList.add(on ? 'live-on' : 'live-off');
          }

          function busy(element) {
            if (!element) { return false; }
            var active = document.activeElement;
            if (active && active !== document.body && element.contains(active)) { return true; }
            try {
              var selection = window.getSelection ? window.getSelection() : null;
              if (selection && !selection.isCollapsed && selection.anchorNode && element.contains(selection.anchorNode)) { return true; }
            } catch (e) { /* no selection API */ }
            return false;
          }

          var timer = null;
          var inFlight = false;
          var again = false;

          function schedule(delay) {
            if (timer !== null) { return; }
            timer = window.setTimeout(function () { timer = null; refresh(); }, delay);
          }

          function scrollPositions(root) {
            var result = [];
            var wraps = root.querySelectorAll('.table-wrap, pre.log');
            for (var i = 0; i < wraps.length; i++) { result.push([wraps[i].scrollLeft, wraps[i].scrollTop]); }
            return result;
          }

          function restoreScroll(root, positions) {
            var wraps = root.querySelectorAll('.table-wrap, pre.log');
            for (var i = 0; i < wraps.length && i < positions.length; i++) {
              wraps[i].scrollLeft = positions[i][0];
              wraps[i].scrollTop = positions[i][1];
            }
          }

          function apply(html) {
            var live = document.getElementById('live');
            if (!live || typeof window.DOMParser === 'undefined') { return; }
            var doc = new window.DOMParser().parseFromString(html, 'text/html');
            var fresh = doc ? doc.getElementById('live') : null;
            if (!fresh) { return; }
            var banner = document.querySelector('.banner');
            if (busy(live) || busy(banner)) { again = true; return; }
            var positions = scrollPositions(live);
            live.innerHTML = fresh.innerHTML;
            restoreScroll(live, positions);
            localizeTimes(live);
            var freshBanner = doc.querySelector('.banner');
            if (banner && freshBanner) {
              var copy = document.importNode(freshBanner, true);
              banner.parentNode.replaceChild(copy, banner);
              localizeTimes(copy);
            } else if (banner && !freshBanner) {
              banner.parentNode.removeChild(banner);
            } else if (!banner && freshBanner && live.parentNode) {
              var inserted = document.importNode(freshBanner, true);
              live.parentNode.insertBefore(inserted, live);
              localizeTimes(inserted);
            }
          }

          function refresh() {
            var live = document.getElementById('live');
            if (!live || typeof window.fetch !== 'function') { return; }
            if (document.hidden) { again = true; return; }
            if (inFlight) { again = true; return; }
            if (busy(live) || busy(document.querySelector('.banner'))) {
              window.setTimeout(function () { schedule(0); }, FOCUS_RETRY_MS);
              return;
            }
            inFlight = true;
            again = false;
            var here = window.location.href;
            window.fetch(here, { credentials: 'same-origin', headers: { 'X-Live-Update': '1' } })
              .then(function (response) {
                if (!response || response.status !== 200) { return null; }
                if (response.url && response.url.split('#')[0] !== here.split('#')[0]) { return null; }
                return response.text();
              })
              .then(function (text) { if (typeof text === 'string' && text) { apply(text); } })
              .catch(function () { /* a failed refresh waits for the next event */ })
              .then(function () {
                inFlight = false;
                if (again) {
                  again = false;
                  if (busy(document.getElementById('live'))) {
                    window.setTimeout(function () { schedule(0); }, FOCUS_RETRY_MS);
                  } else {
                    schedule(DEBOUNCE_MS);
                  }
                }
              });
          }

          var source = null;
          var retryDelay = 5000;

          function connect() {
            if (source || !document.getElementById('live') || typeof window.EventSource !== 'function') { return; }
            try {
              source = new window.EventSource('/api/events');
            } catch (e) {
              source = null;
              setStatus(false);
              return;
            }
            var current = source;
            current.addEventListener('open', function () { retryDelay = 5000; setStatus(true); });
            current.addEventListener('error', function () {
              setStatus(false);
              if (current.readyState === 2) {
                // Closed for good (the server refused): try again later with a fresh stream.
                current.close();
                if (source === current) { source = null; }
                window.setTimeout(connect, retryDelay);
                retryDelay = Math.min(retryDelay * 2, 60000);
              }
            });
            for (var i = 0; i < EVENTS.length; i++) {
              current.addEventListener(EVENTS[i], function () { schedule(DEBOUNCE_MS); });
            }
          }

          function disconnect() {
            if (source) {
              try { source.close(); } catch (e) { /* already closed */ }
              source = null;
            }
          }

          function start() {
            try {
              localizeTimes(document);
              // Tells tests (and anyone curious) the page now shows the browser's time zone.
              document.documentElement.setAttribute('data-times-local', '1');
            } catch (e) { /* leave the UTC text */ }
            try { connect(); } catch (e) { setStatus(false); }
          }

          document.addEventListener('visibilitychange', function () {
            if (!document.hidden && again) { again = false; schedule(0); }
          });
          window.addEventListener('pagehide', disconnect);
          window.addEventListener('pageshow', function (event) {
            if (event && event.persisted) { try { connect(); schedule(0); } catch (e) { /* ignore */ } }
          });

          if (document.readyState === 'loading') {
            document.addEventListener('DOMContentLoaded', start);
          } else {
            start();
          }
        })();
        """#
}
