'use client';
// Any client code calls the global whopq() the snippet defined; ?event_id= fixes the id (for tests).

declare global {
  interface Window {
    whopq?: (...args: unknown[]) => void;
  }
}

export function TrackLead() {
  const onClick = () => {
    const eventId = new URLSearchParams(location.search).get('event_id') ?? undefined;
    window.whopq?.('track', 'lead', {}, eventId ? { event_id: eventId } : {});
    window.whopq?.('flush');
  };
  return (
    <button id="lead" onClick={onClick}>
      Get the guide
    </button>
  );
}
