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
    "id": "brand_dummy",
    "displayName": "whopq"
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
    "help": "Fields about the visitor for this event, e.g. email = {{DLV - email}}. Empty values are skipped.",
    "simpleTableColumns": [
      {
        "defaultValue": "email",
        "displayName": "Field",
        "name": "field",
        "type": "SELECT",
        "selectItems": [
          {
            "value": "anonymous_id",
            "displayValue": "anonymous_id"
          },
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

scenarios: []


___NOTES___

whopq GTM tag template. Narrow the "Injects scripts" permission from https://*/* to your relay's
origin (e.g. https://www.example.com/wq/*) after importing it.
