// A landing page: the pixel records the page view by itself; the button tracks a lead.
import { TrackLead } from './trackLead';

export default function Home() {
  return (
    <main>
      <h1>whopq on Next.js</h1>
      <p>Events are stored in Postgres by the route at /wq/e before it answers, and forwarded to Whop by the drain route.</p>
      <TrackLead />
    </main>
  );
}
