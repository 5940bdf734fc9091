// Formatting of numbers, times and durations for the page.

const pad = (n, w = 2) => String(n).padStart(w, '0');

// fmtPhone spaces a mainland mobile number as 3-4-4 digits.
export function fmtPhone(n) {
  return /^\d{11}$/.test(n) ? `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}` : n;
}

// fmtDateTime shows a time in Unix milliseconds as "2026-05-01 08:30:00"
// in UTC (offsetHours 0) or another fixed offset.
export function fmtDateTime(t, offsetHours = 0) {
  if (!t) return '—';
  const d = new Date(t + offsetHours * 3600e3);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// fmtTime shows a message's time: "08:30:05", with the date in front when
// it is not the day of now.
export function fmtTime(t, now) {
  if (!t) return '';
  const d = new Date(t);
  const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (now && new Date(now).toISOString().slice(0, 10) === d.toISOString().slice(0, 10)) return hms;
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hms}`;
}

// fmtDuration shows milliseconds as "3h 05m", "12m 30s", "4.2s", "850ms".
export function fmtDuration(v) {
  if (!Number.isFinite(v)) return '—';
  const neg = v < 0;
  v = Math.abs(v);
  let s;
  if (v < 1000) s = `${Math.round(v)}ms`;
  else if (v < 10e3) s = `${(v / 1000).toFixed(1)}s`;
  else if (v < 60e3) s = `${Math.round(v / 1000)}s`;
  else if (v < 3600e3) s = `${Math.floor(v / 60e3)}m ${pad(Math.floor(v / 1000) % 60)}s`;
  else if (v < 86400e3) s = `${Math.floor(v / 3600e3)}h ${pad(Math.floor(v / 60e3) % 60)}m`;
  else s = `${Math.floor(v / 86400e3)}d ${pad(Math.floor(v / 3600e3) % 24)}h`;
  return neg ? '-' + s : s;
}

// fmtCount shows a count with thousands separators.
export const fmtCount = (n) => Number(n).toLocaleString('en-US');
