// The whopq snippet goes in the root layout's <head>, so every page has it before anything else
// runs: it queues calls made before the pixel loads and fetches the pixel from the relay route
// (/wq/p.js, app/wq/[...path]/route.ts). This is dist/snippet.html of the whopq package.
import type { ReactNode } from 'react';

const SNIPPET = `(function(r,n,i,o){if(!r.whopq){var e=r.whopq=function(){e.q.push([[].slice.call(arguments),Date.now(),location.href])};e.q=[];var c=n.currentScript||n.querySelector("script[nonce]"),t=n.createElement("script");t.async=!0,t.src=i,c&&c.nonce&&(t.nonce=c.nonce),n.head.appendChild(t),addEventListener("pagehide",function(){try{var a=JSON.stringify(e.q);r.whopq==e&&e.q[0]&&(!/requireConsent":true/.test(a)||/"consent","grant"/.test(a))&&(localStorage[o]=JSON.stringify(JSON.parse(localStorage[o]||"[]").concat(e.q)),e.q=[])}catch{}})}})(window,document,"/wq/p.js","wq_s");
whopq('init', ${JSON.stringify(process.env.NEXT_PUBLIC_WHOP_COMPANY_ID ?? 'biz_example')});`;

export const metadata = { title: 'whopq on Next.js' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <script dangerouslySetInnerHTML={{ __html: SNIPPET }} />
      </head>
      <body>{children}</body>
    </html>
  );
}
