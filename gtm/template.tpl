___TERMS_OF_SERVICE___

By creating or modifying this file you agree to Google Tag Manager's Community
Template Gallery Developer Terms of Service available at
https://developers.google.com/tag-manager/gallery-tos (or such other URL as
Google may provide), as modified from time to time.


___INFO___

{
  "type": "TAG",
  "id": "cvt_temp_public_id",
  "version": 1,
  "securityGroups": [],
  "displayName": "whopq: Whop conversions (first-party)",
  "categories": [
    "CONVERSIONS",
    "ADVERTISING"
  ],
  "brand": {
    "id": "github.com_whopq",
    "displayName": "whopq",
    "thumbnail": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAYAAACqaXHeAAAEnUlEQVR4nOybW2gcVRjH/2d2NbubTWw2e0s0m4ImajG2KcV6eVEUQY20VAkUG0ERH1TwRakPilrBB/VFRUERUVQIKihBWymi4EMlRNusDQUjCk26yd6a62Y3CbNz/M62G9KkbS79ZtjM5Ae7e2Zn55z5Luecb863x41VUB+J3SukeBCQt9FhIwQigKhGRSFnIJGiwgjdWy8M/cdsNvHrSleJy5xzB8NNT0mIV4QQjdiASClHSMDXs+mhT+lQv9hvLqYArS7Y1OnSxCEI0QI7IDFoSPnyWGbo29LRIpYpIBCKdWoaPqNTXtgKmafX/mxquGfxtxcooD7cvI9+9A25vAYbQl2CHAH7yRO+Ln+3oIC6yHVtLmi99rP8UmRBN4p3TmQS/eqobGnyeq3b/sIrhNelub7AedlLbzTaPy0gtsEhkKy3KJlL5VAo5Jea7z8qh+As0ijO3KAZ8DwK5wmvCEvhfcRNc/3dcChSiNvdNOVthUPRhLhJo7BoKxwKxQRRNwUCUTiXqJvequBQhMA1tgx518KmAuBw3LAINdreEfDgvnA1dm7xIFrlRqjKVTqXmSsiOafj+Pgsjmby6B0rQJewBBGMNJvalBLxQKwWL7QEEPWsTt/JWR1vD57FV8PTKMJcTFOAoIWXvY01OEiCX++/Guvh39w83vz7LHpGc6Uh2wxM6wJ7GmrwblsYXvf6hxmluPe3RzBvSPyUzsMMTBkEO6I+fNQeuSLhy/iojs93NWBvgx9mwK6AbWS1D7dHVZwNLlRd790aRlstf8zGqgBV2cftURbLL0XV+cGOMLvFWOvrotH+xtr1DXir4eaaqlIbnLApoNol8BKN+GZzsDUAv4uxe4GJh2mQCnrMj6tCFEB1MA6IbAq4K2DdgvIuiiS5YDNZzGtZVI2W6qvABdtdN/msU0DY4wIXbHcdrrJQAYxtba4HgIn0nA6r4GyLUQFmP7guamuWry02BQxMzcMqTk7PgQs2BRxOzsAqvkvkwAWbAn7JzOCvST7LXIqBqVn8OVmBHqBWbN75Zwxm89bgODhhnQaPJHOmeoGy/pEUb1fjjQPIC56Pp1DQDXCj6nz2RBrcsAdCA9PzeC6eAifqn03PxJM4leOfaUyJBHtoRujqG0GewROU5bv+GMUPyQ20KKpQq7gdvydKS9vrRV37wLEzOGrSirDCksTIY001eLG1fk2JETWjfDk0tXETI0tRqbHdtGhyf8iHnXXLU2OjJHTfeAE/U2qsj1JktkmNVTqbj8NwOJsKoJf5TzAVCsVXk+pvckk4l6TyAMcqgB5dkpqUsh8ORUL2a5DG93AoEsXuUpYxGG4+DoF2OAmJeDZ9eod2rmwcgsMgmV9Tnwt5Zkd5wXnrq+JCIKRDf0JtKILtkYWiKHaVjxYUMJFOxA0Dj8PGnNs2Jw6Mp86cLH93QZq1kJ885fPXnqDiHuodfDnoikAWDEPsG8ucvvTGyTJbQs3t9PzeTWdbYQckBqmLdyovX3pqhc3TsScpVH51Y2+elm9k08OfYA2bp5cRDF57DzT3Q1TlblT+9vkEGe1YUcrDE5nh31a66n8AAAD//0bDrsoAAAAGSURBVAMAYYuDuuOCnnMAAAAASUVORK5CYII="
  },
  "description": "Installs the whopq pixel from your own relay (first-party, ad-blocker safe) and sends a conversion to Whop's Conversions API: lead, submit_application, contact, complete_registration, schedule, or any custom name.",
  "containerContexts": [
    "WEB"
  ]
}


___TEMPLATE_PARAMETERS___

[
  {
    "type": "TEXT",
    "name": "companyId",
    "displayName": "Whop company id",
    "simpleValueType": true,
    "valueValidators": [
      {
        "type": "NON_EMPTY"
      },
      {
        "type": "REGEX",
        "args": [
          "^biz_[A-Za-z0-9]+$|^\\{\\{.+\\}\\}$"
        ]
      }
    ],
    "help": "Your company id, <code>biz_\u2026</code>, as allowed in the relay's WHOP_COMPANY_ID."
  },
  {
    "type": "TEXT",
    "name": "relayUrl",
    "displayName": "Relay URL",
    "simpleValueType": true,
    "valueValidators": [
      {
        "type": "NON_EMPTY"
      },
      {
        "type": "REGEX",
        "args": [
          "^https://.+"
        ]
      }
    ],
    "help": "Absolute URL where the relay is mounted on your own domain, e.g. <code>https://www.example.com/wq</code>. The pixel loads from <code>/p.js</code> under it and sends events to <code>/e</code>."
  },
  {
    "type": "TEXT",
    "name": "eventName",
    "displayName": "Event name",
    "simpleValueType": true,
    "help": "lead, submit_application, contact, complete_registration, schedule, or any other name (sent as a custom event). Leave empty to only install the pixel (e.g. on an All Pages trigger)."
  },
  {
    "type": "GROUP",
    "name": "valueGroup",
    "displayName": "Value",
    "groupStyle": "ZIPPY_CLOSED",
    "subParams": [
      {
        "type": "TEXT",
        "name": "value",
        "displayName": "Value",
        "simpleValueType": true,
        "valueValidators": [
          {
            "type": "REGEX",
            "args": [
              "^$|^-?[0-9]+(\\.[0-9]+)?$|^\\{\\{.+\\}\\}$"
            ]
          }
        ],
        "help": "A number, or a Data Layer Variable."
      },
      {
        "type": "TEXT",
        "name": "currency",
        "displayName": "Currency",
        "simpleValueType": true,
        "help": "ISO 4217 code, e.g. usd."
      },
      {
        "type": "TEXT",
        "name": "productId",
        "displayName": "Product id",
        "simpleValueType": true
      },
      {
        "type": "TEXT",
        "name": "planId",
        "displayName": "Plan id",
        "simpleValueType": true
      },
      {
        "type": "TEXT",
        "name": "eventId",
        "displayName": "Event id",
        "simpleValueType": true,
        "help": "Optional: your own id, to deduplicate against the same conversion sent from your server. Default: a random id."
      }
    ]
  },
  {
    "type": "SIMPLE_TABLE",
    "name": "userFields",
    "displayName": "User data (from Data Layer Variables)",
    "help": "Fields about the visitor for this event, e.g. email = {{DLV - email}}. Empty values are skipped. The anonymous id is the pixel's own (its first-party cookie), so it is not offered here.",
    "simpleTableColumns": [
      {
        "defaultValue": "email",
        "displayName": "Field",
        "name": "field",
        "type": "SELECT",
        "selectItems": [
          {
            "value": "external_id",
            "displayValue": "external_id"
          },
          {
            "value": "member_id",
            "displayValue": "member_id"
          },
          {
            "value": "membership_id",
            "displayValue": "membership_id"
          },
          {
            "value": "user_id",
            "displayValue": "user_id"
          },
          {
            "value": "birthdate",
            "displayValue": "birthdate"
          },
          {
            "value": "city",
            "displayValue": "city"
          },
          {
            "value": "country",
            "displayValue": "country"
          },
          {
            "value": "email",
            "displayValue": "email"
          },
          {
            "value": "first_name",
            "displayValue": "first_name"
          },
          {
            "value": "gender",
            "displayValue": "gender"
          },
          {
            "value": "last_name",
            "displayValue": "last_name"
          },
          {
            "value": "name",
            "displayValue": "name"
          },
          {
            "value": "phone",
            "displayValue": "phone"
          },
          {
            "value": "postal_code",
            "displayValue": "postal_code"
          },
          {
            "value": "state",
            "displayValue": "state"
          },
          {
            "value": "username",
            "displayValue": "username"
          }
        ]
      },
      {
        "defaultValue": "",
        "displayName": "Value",
        "name": "value",
        "type": "TEXT"
      }
    ]
  },
  {
    "type": "GROUP",
    "name": "advanced",
    "displayName": "Advanced",
    "groupStyle": "ZIPPY_CLOSED",
    "subParams": [
      {
        "type": "CHECKBOX",
        "name": "requireConsent",
        "checkboxText": "Hold events until the page calls whopq('consent', 'grant')",
        "simpleValueType": true
      },
      {
        "type": "CHECKBOX",
        "name": "debug",
        "checkboxText": "Log each step to the browser console",
        "simpleValueType": true
      }
    ]
  }
]


___SANDBOXED_JS_FOR_WEB_TEMPLATE___

// Installs the same command queue as the paste-in snippet (window.whopq, queued calls in
// window.whopq.q, replayed by the bundle in order), then calls init once per company per page and
// track once per firing. Every call goes through callInWindow so it reaches the real whopq once the
// bundle has replaced the queueing stub.
const callInWindow = require('callInWindow');
const createArgumentsQueue = require('createArgumentsQueue');
const getType = require('getType');
const injectScript = require('injectScript');
const logToConsole = require('logToConsole');
const makeNumber = require('makeNumber');
const makeString = require('makeString');
const queryPermission = require('queryPermission');
const templateStorage = require('templateStorage');

const present = (v) => v !== undefined && v !== null && makeString(v) !== '';

let relay = makeString(data.relayUrl || '');
while (relay.length > 1 && relay.charAt(relay.length - 1) === '/') relay = relay.slice(0, relay.length - 1);
const bundleUrl = relay + '/p.js';
const companyId = makeString(data.companyId || '');

if (!queryPermission('inject_script', bundleUrl)) {
  logToConsole('whopq: this template may not load ' + bundleUrl + '; allow it under Permissions, Injects scripts');
  data.gtmOnFailure();
  return;
}

createArgumentsQueue('whopq', 'whopq.q');

if (!templateStorage.getItem('init:' + companyId)) {
  templateStorage.setItem('init:' + companyId, true);
  const initOptions = { relay: relay };
  if (data.requireConsent) initOptions.requireConsent = true;
  if (data.debug) initOptions.debug = true;
  callInWindow('whopq', 'init', companyId, initOptions);
}

if (present(data.eventName)) {
  const props = {};
  if (present(data.value)) {
    const value = makeNumber(data.value);
    // NaN is the only value not equal to itself: a bad number is left out, not sent as null.
    if (value === value) props.value = value;
  }
  if (present(data.currency)) props.currency = makeString(data.currency).toLowerCase();
  if (present(data.productId)) props.product_id = makeString(data.productId);
  if (present(data.planId)) props.plan_id = makeString(data.planId);

  const options = { company_id: companyId };
  if (present(data.eventId)) options.event_id = makeString(data.eventId);
  const rows = getType(data.userFields) === 'array' ? data.userFields : [];
  const user = {};
  let hasUser = false;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] && present(rows[i].field) && present(rows[i].value)) {
      user[makeString(rows[i].field)] = makeString(rows[i].value);
      hasUser = true;
    }
  }
  if (hasUser) options.user = user;
  callInWindow('whopq', 'track', makeString(data.eventName), props, options);
}

// The cache token loads the bundle once per page however often the tag fires; the bundle itself
// also ignores a second copy.
injectScript(bundleUrl, data.gtmOnSuccess, data.gtmOnFailure, 'whopq');


___WEB_PERMISSIONS___

[
  {
    "instance": {
      "key": {
        "publicId": "access_globals",
        "versionId": "1"
      },
      "param": [
        {
          "key": "keys",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "key"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  },
                  {
                    "type": 1,
                    "string": "execute"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "whopq"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  }
                ]
              },
              {
                "type": 3,
                "mapKey": [
                  {
                    "type": 1,
                    "string": "key"
                  },
                  {
                    "type": 1,
                    "string": "read"
                  },
                  {
                    "type": 1,
                    "string": "write"
                  },
                  {
                    "type": 1,
                    "string": "execute"
                  }
                ],
                "mapValue": [
                  {
                    "type": 1,
                    "string": "whopq.q"
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": true
                  },
                  {
                    "type": 8,
                    "boolean": false
                  }
                ]
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {
        "publicId": "inject_script",
        "versionId": "1"
      },
      "param": [
        {
          "key": "urls",
          "value": {
            "type": 2,
            "listItem": [
              {
                "type": 1,
                "string": "https://*/*"
              }
            ]
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {
        "publicId": "logging",
        "versionId": "1"
      },
      "param": [
        {
          "key": "environments",
          "value": {
            "type": 1,
            "string": "debug"
          }
        }
      ]
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  },
  {
    "instance": {
      "key": {
        "publicId": "access_template_storage",
        "versionId": "1"
      },
      "param": []
    },
    "clientAnnotations": {
      "isEditedByUser": true
    },
    "isRequired": true
  }
]


___TESTS___

scenarios:
- name: A firing installs the pixel once and tracks the event with its value, currency and user data
  code: |-
    const calls = [];
    mock('callInWindow', (fn, command, a, b, c) => { calls.push([fn, command, a, b, c]); });
    mock('injectScript', (url, onSuccess, onFailure, cacheToken) => {
      assertThat(url).isEqualTo('https://www.example.com/wq/p.js');
      assertThat(cacheToken).isEqualTo('whopq');
      onSuccess();
    });
    runCode(mockData);
    assertApi('createArgumentsQueue').wasCalledWith('whopq', 'whopq.q');
    assertThat(calls).isEqualTo([
      ['whopq', 'init', 'biz_gallery1', {relay: 'https://www.example.com/wq'}, undefined],
      ['whopq', 'track', 'lead', {value: 49.5, currency: 'usd', product_id: 'prod_1'}, {company_id: 'biz_gallery1', user: {email: 'ada@example.com'}}]
    ]);
    assertApi('gtmOnSuccess').wasCalled();
    assertApi('gtmOnFailure').wasNotCalled();
- name: Without an event name it only installs the pixel (an All Pages tag)
  code: |-
    const commands = [];
    mock('callInWindow', (fn, command) => { commands.push(command); });
    mock('injectScript', (url, onSuccess) => { onSuccess(); });
    mockData.eventName = '';
    runCode(mockData);
    assertThat(commands).isEqualTo(['init']);
    assertApi('gtmOnSuccess').wasCalled();
- name: A value that is not a number is left out, the event is still sent
  code: |-
    const props = [];
    mock('callInWindow', (fn, command, name, p) => { if (command === 'track') props.push(p); });
    mock('injectScript', (url, onSuccess) => { onSuccess(); });
    mockData.value = 'n/a';
    runCode(mockData);
    assertThat(props).isEqualTo([{currency: 'usd', product_id: 'prod_1'}]);
- name: A relay URL the Injects scripts permission does not allow fails the tag and loads nothing
  code: |-
    mock('queryPermission', () => false);
    runCode(mockData);
    assertApi('injectScript').wasNotCalled();
    assertApi('callInWindow').wasNotCalled();
    assertApi('gtmOnFailure').wasCalled();
setup: |-
  const mockData = {
    companyId: 'biz_gallery1',
    relayUrl: 'https://www.example.com/wq/',
    eventName: 'lead',
    value: '49.5',
    currency: 'USD',
    productId: 'prod_1',
    userFields: [{field: 'email', value: 'ada@example.com'}, {field: 'phone', value: ''}]
  };


___NOTES___

whopq GTM tag template. Narrow the "Injects scripts" permission from https://*/* to your relay's
origin (e.g. https://www.example.com/wq/*) after importing it.
