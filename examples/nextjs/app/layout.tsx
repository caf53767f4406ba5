// The whopq snippet goes in the root layout's <head>, so every page has it before anything else
// runs: its first tag queues calls made before the pixel loads, its second loads the pixel from the
// relay route (/wq/p.js, app/wq/[...path]/route.ts). This is dist/snippet.html of the whopq package.
import type { ReactNode } from 'react';

const SNIPPET = `(function(e,n){if(!e.whopq){var t=e.whopq=function(){t.q.push([[].slice.call(arguments),Date.now(),location.href])};t.q=[],addEventListener("pagehide",function(){try{var o=JSON.stringify(t.q);e.whopq==t&&t.q[0]&&!localStorage.wq_r&&(!/requireConsent":true/.test(o)||/"consent","grant"/.test(o))&&(localStorage[n]=JSON.stringify(JSON.parse(localStorage[n]||"[]").concat(t.q)),t.q=[])}catch{}})}})(window,"wq_s");
whopq('init', ${JSON.stringify(process.env.NEXT_PUBLIC_WHOP_COMPANY_ID ?? 'biz_example')});`;

export const metadata = { title: 'whopq on Next.js' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <script dangerouslySetInnerHTML={{ __html: SNIPPET }} />
        <script async src="/wq/p.js" />
      </head>
      <body>{children}</body>
    </html>
  );
}
