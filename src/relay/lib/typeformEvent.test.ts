import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { typeformEvent } from './typeformEvent';

const fixture = () =>
  JSON.parse(readFileSync(new URL('../../../test/fixtures/typeform-form-response.json', import.meta.url), 'utf8')) as {
    event_type: string;
    form_response: Record<string, unknown> & { hidden: Record<string, unknown>; answers: unknown[] };
  };

describe('typeformEvent', () => {
  it("makes form_response a lead with the email and phone answers, the hidden anonymous id and the browser's event id", () => {
    expect(typeformEvent(fixture(), { companyId: 'biz_1' })).toEqual({
      event: {
        company_id: 'biz_1',
        event_name: 'lead',
        event_id: '9d2e4f6a8b0c1d3e5f7a9b1c3d5e7f90',
        event_time: '2026-11-27T14:02:02Z',
        action_source: 'website',
        user: { email: 'laura@example.com', phone: '+14155550199', anonymous_id: '5f0c3b9a2d4e4f6a8b1c7d9e0f2a4b6c' },
        context: { utm_source: 'facebook' },
      },
    });
  });

  it('names the event per form id', () => {
    const result = typeformEvent(fixture(), { companyId: 'biz_1', eventNames: { lT4Z3j: 'submit_application', other: 'contact' } });
    expect('event' in result && result.event.event_name).toBe('submit_application');
  });

  it('keys the event by the response token when the hidden event_id is missing or guessable', () => {
    const body = fixture();
    // A random id is kept exactly as the page gave it to the browser's event too.
    body.form_response.hidden = { event_id: 'D1E2F3A4-B5C6-4718-893A-4B5C6D7E8F90' };
    const upper = typeformEvent(body, { companyId: 'biz_1' });
    expect('event' in upper && upper.event.event_id).toBe('D1E2F3A4-B5C6-4718-893A-4B5C6D7E8F90');
    body.form_response.hidden = { event_id: 'order-1001' };
    const guessable = typeformEvent(body, { companyId: 'biz_1' });
    expect('event' in guessable && guessable.event.event_id).toBe('a3a12ec67a1365927098a606107fac15');
    body.form_response.hidden = {};
    const none = typeformEvent(body, { companyId: 'biz_1' });
    expect('event' in none && none.event.event_id).toBe('a3a12ec67a1365927098a606107fac15');
    expect('event' in none && none.event.user).toEqual({ email: 'laura@example.com', phone: '+14155550199' });
  });

  it('acknowledges a partial response without an event, refuses a body with no form_response or token', () => {
    const partial = fixture();
    partial.event_type = 'form_response_partial';
    expect(typeformEvent(partial, { companyId: 'biz_1' })).toHaveProperty('ignored');
    expect(typeformEvent({ event_type: 'form_response' }, { companyId: 'biz_1' })).toHaveProperty('error.param', 'form_response');
    const noToken = fixture();
    noToken.form_response.hidden = {};
    delete noToken.form_response.token;
    expect(typeformEvent(noToken, { companyId: 'biz_1' })).toHaveProperty('error.param', 'form_response.token');
  });
});
