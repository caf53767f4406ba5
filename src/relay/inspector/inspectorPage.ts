// The inspector's HTML: one self-contained page (no external assets) whose inline style and script
// carry a per-response nonce, so it runs under a CSP with no 'unsafe-inline'. The page holds no
// event data: its script fetches data.json and builds the DOM with textContent and setAttribute
// only, so an attacker-controlled field (a URL, a UTM, a custom name) can never become markup.

const _CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#14171f;--mute:#667085;--line:#e4e7ec;--brand:#ff6243;
--pending:#2e90fa;--retrying:#f79009;--delivered:#12b76a;--dead:#f04438;--dry_run:#7a5af8;--skipped:#98a2b3}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:12px;padding:14px 24px;background:var(--ink);color:#fff}
header h1{font-size:16px;margin:0;font-weight:600}
header .dot{width:10px;height:10px;border-radius:50%;background:var(--brand)}
header .right{margin-left:auto;display:flex;gap:12px;align-items:center;font-size:13px;color:#c8ccd4}
header button{font:inherit;border:1px solid #475467;background:transparent;color:#fff;border-radius:6px;padding:4px 10px;cursor:pointer}
main{max-width:1200px;margin:0 auto;padding:20px 24px 48px}
.top{display:grid;grid-template-columns:repeat(6,minmax(0,1fr)) 2fr;gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.count{cursor:pointer;border-top:3px solid var(--c)}
.count.on{outline:2px solid var(--c)}
.count b{display:block;font-size:24px;font-weight:650}
.count span{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.chart h2 span{text-transform:none;letter-spacing:0;font-weight:400;margin-left:6px}
.chart h2,.list h2{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute);margin:0 0 6px;font-weight:600}
.chart svg{width:100%;height:64px;display:block}
.list{margin-top:16px;padding:0}
.list h2{padding:12px 14px 0}
table{width:100%;border-collapse:collapse;table-layout:fixed}
td{overflow-wrap:anywhere}
th.w-time{width:96px}th.w-event{width:17%}th.w-src{width:15%}th.w-state{width:124px}th.w-del{width:24%}
th,td{text-align:left;padding:8px 14px;border-top:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--mute);font-weight:600}
tr.ev{cursor:pointer}
tr.ev:hover{background:#f9fafb}
.pill{display:inline-block;white-space:nowrap;border-radius:999px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;background:var(--c)}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.mute{color:var(--mute)}
.err{color:var(--dead)}
tr.detail td{background:#fcfcfd}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dt{color:var(--mute)}dd{margin:0;word-break:break-all}
.cols{display:grid;grid-template-columns:1fr 1fr 1fr;gap:16px}
.cols h3{font-size:12px;margin:0 0 4px;color:var(--mute);text-transform:uppercase}
.empty{padding:28px 14px;color:var(--mute);text-align:center}
#status.bad{color:#fda29b}
td.url{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
tr.ev:focus-visible{outline:2px solid var(--brand);outline-offset:-2px}
.more{color:var(--brand);font-size:12px;white-space:nowrap}
.hint{font-weight:400;text-transform:none;letter-spacing:0;margin-left:6px}
.intro{max-width:620px;margin:0 auto;text-align:left;color:var(--ink)}
.intro p{margin:0 0 8px}.intro code{font-size:12px;background:var(--bg);padding:1px 4px;border-radius:4px}
@media (max-width:900px){.top{grid-template-columns:repeat(3,1fr)}.chart{grid-column:1/-1}.cols{grid-template-columns:1fr}}
@media (max-width:640px){
header{padding:10px 14px;flex-wrap:wrap;gap:8px}header .right{margin-left:0;width:100%;justify-content:space-between}
main{padding:12px 10px 32px}.top{gap:8px}.card:not(.list){padding:10px}.list h2{padding:10px 12px 0}.count b{font-size:20px}.count span{font-size:11px}
table,tbody{display:block}thead{display:none}
tr.ev{display:grid;grid-template-columns:auto minmax(0,1fr) auto;gap:2px 10px;padding:10px 12px;border-top:1px solid var(--line)}
tr.ev td{display:block;padding:0;border:0;min-width:0}
tr.ev td:nth-child(3),tr.ev td:nth-child(4),tr.ev td:nth-child(6){grid-column:1/-1}
tr.ev td:nth-child(5){grid-column:3;grid-row:1}
tr.detail,tr.detail td,tr.empty-row,tr.empty-row td{display:block}
}
`;

// Plain ES2017 so any browser a seller uses can run it. Reads the token from its own URL and sends
// it as a bearer header (never as a query string to other pages).
const _JS = `
(function(){
var STATES=['pending','retrying','delivered','dead','dry_run','skipped'];
var LABEL={pending:'Pending',retrying:'Retrying',delivered:'Delivered',dead:'Dead-lettered',dry_run:'Dry-run',skipped:'Not forwarded'};
var token=new URLSearchParams(location.search).get('token');
var base=location.pathname.replace(/\\/+$/,'');
var filter=null,paused=false,open={},last=null,timer=0;
function $(id){return document.getElementById(id)}
function el(tag,attrs,kids){var e=document.createElement(tag);if(attrs)for(var k in attrs){if(k==='text')e.textContent=attrs[k];else e.setAttribute(k,attrs[k])}
(kids||[]).forEach(function(c){if(c!=null)e.appendChild(typeof c==='string'?document.createTextNode(c):c)});return e}
function ago(t,now){if(t==null)return '';var s=Math.round((now-t)/1000),f=s<0;s=Math.abs(s);
var v=s<60?s+'s':s<3600?Math.round(s/60)+'m':s<86400?Math.round(s/3600)+'h':Math.round(s/86400)+'d';return f?'in '+v:v+' ago'}
function pill(s){return el('span',{'class':'pill',text:LABEL[s]||s,'data-state':s})}
function colorize(root){root.querySelectorAll('[data-state]').forEach(function(n){n.style.setProperty('--c','var(--'+n.getAttribute('data-state')+')')})}
function kv(obj){var dl=el('dl');var keys=Object.keys(obj||{}).filter(function(k){return obj[k]!=null&&obj[k]!==''});
if(!keys.length)dl.appendChild(el('dd',{'class':'mute',text:'none'}));
keys.forEach(function(k){dl.appendChild(el('dt',{text:k}));dl.appendChild(el('dd',{'class':'mono',text:String(obj[k])}))});return dl}
function deliveryText(e,now){switch(e.state){
case 'delivered':return 'delivered '+ago(e.delivered_at,now)+(e.whop_id?' as '+e.whop_id:'');
case 'retrying':return 'attempt '+e.attempts+' failed; next '+(e.next_attempt_at?ago(e.next_attempt_at,now):'soon');
case 'pending':return e.next_attempt_at&&e.next_attempt_at>now?'due '+ago(e.next_attempt_at,now):'sending';
case 'dead':return 'refused after '+e.attempts+' attempt'+(e.attempts===1?'':'s');
case 'dry_run':return 'stored; not sent (dry-run, no API key)';
case 'skipped':return 'stored; not forwarded';}return ''}
function chart(series,now){var svg=$('chart');while(svg.firstChild)svg.removeChild(svg.firstChild);
var NS='http://www.w3.org/2000/svg',W=600,H=64,n=60,start=Math.floor(now/60000)*60000-(n-1)*60000,by={},max=1,total=0;
series.forEach(function(p){by[p[0]]=p[1]});
for(var i=0;i<n;i++){var c=by[start+i*60000]||0;if(c>max)max=c;total+=c}
for(var j=0;j<n;j++){var t=start+j*60000,v=by[t]||0,h=v?Math.max(2,Math.round((H-4)*v/max)):0,r=document.createElementNS(NS,'rect');
r.setAttribute('x',String(j*W/n+1));r.setAttribute('width',String(W/n-2));r.setAttribute('y',String(H-h));r.setAttribute('height',String(h));r.setAttribute('fill','#ff6243');r.setAttribute('rx','1');
var tt=document.createElementNS(NS,'title');tt.textContent=new Date(t).toLocaleTimeString()+': '+v+' event'+(v===1?'':'s');r.appendChild(tt);svg.appendChild(r)}
$('chart-note').textContent=total+' in the last hour, peak '+max+'/min'}
function render(d){last=d;var now=d.now;
STATES.forEach(function(s){var c=$('c-'+s);c.querySelector('b').textContent=String(d.counts[s]||0);c.classList.toggle('on',filter===s)});
chart(d.per_minute||[],now);
var tb=$('rows');while(tb.firstChild)tb.removeChild(tb.firstChild);
var rows=d.events.filter(function(e){return !filter||e.state===filter});
$('shown').textContent=rows.length+' of '+d.events.length+' recent events'+(filter?' ('+LABEL[filter]+')':'');$('hint').hidden=!rows.length;
if(!rows.length)tb.appendChild(el('tr',{'class':'empty-row'},[el('td',{colspan:'6','class':'empty'},d.events.length?['No '+LABEL[filter]+' events among the recent ones.']:[el('div',{'class':'intro'},[
el('p',null,[el('b',{text:'No events yet.'}),' This page lists every conversion this relay receives, newest first: which event, the ad click and UTMs it came with, and whether Whop has it.']),
el('p',{text:'The counts above follow each event: Pending (stored, being sent), Delivered, Retrying (Whop or the network failed; it tries again), Dead-lettered (Whop refused it), Dry-run (no API key set: stored, not sent).'}),
el('p',null,['Send one: submit the form on your landing page, or run ',el('code',{text:"whopq('track','lead')"}),' in its browser console. It shows up here within two seconds; click it for every field.'])])])]));
rows.forEach(function(e){var key=e.company_id+'/'+e.event_id,ctx=e.context||{};
var source=[ctx.utm_source,ctx.utm_medium,ctx.utm_campaign].filter(Boolean).join(' / ');
var click=ctx.fbclid?'fbclid':ctx.gclid?'gclid':ctx.ttclid?'ttclid':'';
var tr=el('tr',{'class':'ev','data-key':key,tabindex:'0','aria-expanded':open[key]?'true':'false',title:open[key]?'Hide details':'Show all fields'},[
el('td',{'class':'mono',text:new Date(e.received_at).toLocaleTimeString(),title:new Date(e.received_at).toISOString()}),
el('td',null,[el('b',{text:e.custom_name||e.event_name}),e.custom_name?el('span',{'class':'mute',text:' custom'}):null,' ',el('span',{'class':'more',text:open[key]?'▾ hide':'▸ details'}),el('div',{'class':'mute mono',text:e.company_id})]),
el('td',null,[source?el('div',{text:source}):el('div',{'class':'mute',text:'direct'}),click?el('div',{'class':'mute',text:click+' attached'}):null]),
el('td',{'class':'mono url',title:e.url||''},[e.url||'']),
el('td',null,[pill(e.state)]),
el('td',null,[el('div',{text:deliveryText(e,now)}),e.last_error?el('div',{'class':'err mono',text:e.last_error}):null])]);
var toggle=function(){open[key]=!open[key];render(last);var again=tb.querySelector('tr.ev[data-key="'+CSS.escape(key)+'"]');if(again)again.focus()};
tr.addEventListener('click',toggle);tr.addEventListener('keydown',function(ev){if(ev.key==='Enter'||ev.key===' '){ev.preventDefault();toggle()}});tb.appendChild(tr);
if(open[key]){var u=e.user||{};tb.appendChild(el('tr',{'class':'detail'},[el('td',{colspan:'6'},[el('div',{'class':'cols'},[
el('div',null,[el('h3',{text:'Event'}),kv({event_id:e.event_id,event_time:e.event_time,url:e.url,referrer_url:e.referrer_url,value:e.value,currency:e.currency,attempts:e.attempts,whop_id:e.whop_id,last_error:e.last_error}),
(e.dropped||[]).length?el('h3',{text:'Repaired, left out or filled'}):null,(e.dropped||[]).length?kv(e.dropped.reduce(function(o,d){o[d.param]=d.message;return o},{})):null]),
el('div',null,[el('h3',{text:'Context'}),kv(ctx)]),
el('div',null,[el('h3',{text:'User'}),kv(u)])])])]))}});
colorize(document)}
function load(){clearTimeout(timer);
fetch(base+'/data.json?limit=200',{headers:token?{authorization:'Bearer '+token}:{},cache:'no-store'}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json()})
.then(function(d){render(d);$('status').textContent='updated '+new Date(d.now).toLocaleTimeString();$('status').className=''})
.catch(function(e){$('status').textContent='cannot load: '+e.message;$('status').className='bad'})
.then(function(){if(!paused)timer=setTimeout(load,2000)})}
STATES.forEach(function(s){$('c-'+s).addEventListener('click',function(){filter=filter===s?null:s;if(last)render(last)})});
$('pause').addEventListener('click',function(){paused=!paused;this.textContent=paused?'Resume':'Pause';if(!paused)load();else clearTimeout(timer)});
colorize(document);load();
})();
`;

/** The header's dot as an inline icon: no request, so no 404 for /favicon.ico wherever the relay is mounted. */
const _FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#14171f"/><circle cx="16" cy="16" r="7" fill="#ff6243"/></svg>')}`;

function _countCard(state: string, label: string): string {
  return `<div class="card count" id="c-${state}" data-state="${state}" role="button" tabindex="0"><b>–</b><span>${label}</span></div>`;
}

/** The inspector page. `nonce` must be fresh per response and match the CSP header sent with it. */
export function inspectorPage(nonce: string, label: string): string {
  const safeLabel = label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>whopq inspector</title>
<link rel="icon" href="${_FAVICON}">
<style nonce="${nonce}">${_CSS}</style></head>
<body><header><span class="dot"></span><h1>whopq event inspector</h1><span class="mute">${safeLabel}</span>
<div class="right"><span id="status">loading…</span><button id="pause" type="button">Pause</button></div></header>
<main><section class="top">
${_countCard('pending', 'Pending')}${_countCard('retrying', 'Retrying')}${_countCard('delivered', 'Delivered')}${_countCard('dead', 'Dead-lettered')}${_countCard('dry_run', 'Dry-run')}${_countCard('skipped', 'Not forwarded')}
<div class="card chart"><h2>Events per minute <span class="mute" id="chart-note"></span></h2><svg id="chart" viewBox="0 0 600 64" preserveAspectRatio="none" role="img" aria-label="events per minute"></svg></div>
</section>
<section class="card list"><h2><span id="shown">Recent events</span><span class="hint mute" id="hint">· click an event for all its fields</span></h2>
<table><thead><tr><th class="w-time">Received</th><th class="w-event">Event</th><th class="w-src">Source</th><th>Page</th><th class="w-state">State</th><th class="w-del">Delivery</th></tr></thead><tbody id="rows"></tbody></table>
</section></main>
<script nonce="${nonce}">${_JS}</script></body></html>`;
}
