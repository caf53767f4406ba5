import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calendlyEvent } from './calendlyEvent';

const fixture = () =>
  JSON.parse(readFileSync(new URL('../../../test/fixtures/calendly-invitee-created.json', import.meta.url), 'utf8')) as {
    event: string;
    payload: Record<string, unknown> & { tracking: Record<string, unknown> };
  };

describe('calendlyEvent', () => {
  it('makes invitee.created a schedule named by the email and the anonymous id in the tracking, keyed by the invitee URI', () => {
    const result = calendlyEvent(fixture(), 'biz_1');
    expect(result).toEqual({
      event: {
        company_id: 'biz_1',
        event_name: 'schedule',
        event_id: 'https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/BBBBBBBBBBBBBBBB',
        event_time: '2026-11-27T14:02:10.482113Z',
        action_source: 'website',
        user: {
          email: 'jane.doe@example.com',
          phone: '+1 415 555 0134',
          first_name: 'Jane',
          last_name: 'Doe',
          name: 'Jane Doe',
          anonymous_id: '5f0c3b9a2d4e4f6a8b1c7d9e0f2a4b6c',
        },
        // The carrier field is not a UTM; the others are the booking page's.
        context: { utm_campaign: 'spring_launch', utm_source: 'facebook', utm_medium: 'paid_social' },
      },
    });
  });

  it('finds the anonymous id in any tracking field, and leaves a malformed one out', () => {
    const body = fixture();
    body.payload.tracking = { utm_content: 'carousel', salesforce_uuid: 'wq_aid.abc_123' };
    const result = calendlyEvent(body, 'biz_1');
    expect('event' in result && result.event.user).toMatchObject({ anonymous_id: 'abc_123' });
    expect('event' in result && result.event.context).toEqual({ utm_content: 'carousel' });
    body.payload.tracking = { utm_content: 'wq_aid.<script>' };
    const bad = calendlyEvent(body, 'biz_1');
    expect('event' in bad && bad.event.user?.anonymous_id).toBeUndefined();
    expect('event' in bad && bad.event.context).toBeUndefined();
  });

  it('acknowledges other events and reschedules without one, refuses a body with no payload or invitee uri', () => {
    const canceled = fixture();
    canceled.event = 'invitee.canceled';
    expect(calendlyEvent(canceled, 'biz_1')).toHaveProperty('ignored');
    const moved = fixture();
    moved.payload.old_invitee = 'https://api.calendly.com/scheduled_events/CCCCCCCCCCCCCCCC/invitees/AAAAAAAAAAAAAAAA';
    expect(calendlyEvent(moved, 'biz_1')).toHaveProperty('ignored', expect.stringMatching(/reschedule/));
    expect(calendlyEvent({ event: 'invitee.created' }, 'biz_1')).toHaveProperty('error.param', 'payload');
    expect(calendlyEvent([], 'biz_1')).toHaveProperty('error');
    const noUri = fixture();
    delete noUri.payload.uri;
    expect(calendlyEvent(noUri, 'biz_1')).toHaveProperty('error.param', 'payload.uri');
  });
});
