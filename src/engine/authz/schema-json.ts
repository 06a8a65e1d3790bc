// Generated from CEDAR_SCHEMA (schema.ts) by Cedar's schemaToJson; authorizer.test.ts checks that
// the two agree. Cedar parses the JSON form several times faster than the text form, and the CLI
// pays that cost on every command: regenerate this file whenever schema.ts changes (the test
// prints the new content when they differ).
import type { SchemaJson } from '@cedar-policy/cedar-wasm/nodejs';

export const CEDAR_SCHEMA_JSON: SchemaJson<string> = {
  Cordon: {
    commonTypes: {
      Credential: {
        type: 'Record',
        attributes: {
          expiresAt: {
            type: 'EntityOrCommon',
            name: 'datetime',
          },
          id: {
            type: 'EntityOrCommon',
            name: 'String',
          },
          kind: {
            type: 'EntityOrCommon',
            name: 'String',
          },
          quarantined: {
            type: 'EntityOrCommon',
            name: 'Bool',
          },
          revoked: {
            type: 'EntityOrCommon',
            name: 'Bool',
          },
          scopes: {
            type: 'Set',
            element: {
              type: 'EntityOrCommon',
              name: 'String',
            },
          },
        },
      },
      RequestContext: {
        type: 'Record',
        attributes: {
          credential: {
            type: 'EntityOrCommon',
            name: 'Credential',
          },
          independentApprovals: {
            type: 'EntityOrCommon',
            name: 'Long',
          },
          now: {
            type: 'EntityOrCommon',
            name: 'datetime',
          },
          placedBy: {
            type: 'EntityOrCommon',
            name: 'String',
          },
          requiredApprovals: {
            type: 'EntityOrCommon',
            name: 'Long',
          },
          scope: {
            type: 'EntityOrCommon',
            name: 'String',
          },
        },
      },
    },
    entityTypes: {
      ChangeRequest: {
        memberOfTypes: ['Dataset'],
        shape: {
          type: 'Record',
          attributes: {
            accountableHumans: {
              type: 'Set',
              element: {
                type: 'EntityOrCommon',
                name: 'Human',
              },
            },
            dataset: {
              type: 'EntityOrCommon',
              name: 'Dataset',
            },
            externallySourced: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            gatePassed: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            highImpact: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            integrityVerified: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            quarantined: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            snapshot: {
              type: 'EntityOrCommon',
              name: 'Snapshot',
            },
          },
        },
      },
      Dataset: {
        memberOfTypes: ['Workspace'],
        shape: {
          type: 'Record',
          attributes: {
            auditors: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            contributors: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            dataset: {
              type: 'EntityOrCommon',
              name: 'Dataset',
            },
            externallySourced: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            highImpact: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            labelers: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            name: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            owners: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            stewards: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            trainers: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
          },
        },
      },
      Group: {
        memberOfTypes: ['Role'],
      },
      Human: {
        memberOfTypes: ['Group', 'Role'],
        shape: {
          type: 'Record',
          attributes: {
            disabled: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            name: {
              type: 'EntityOrCommon',
              name: 'String',
            },
          },
        },
      },
      Identity: {
        memberOfTypes: ['Workspace'],
        shape: {
          type: 'Record',
          attributes: {
            kind: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            name: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            owners: {
              type: 'Set',
              element: {
                type: 'EntityOrCommon',
                name: 'Human',
              },
            },
          },
        },
      },
      LabelSet: {
        memberOfTypes: ['Dataset'],
        shape: {
          type: 'Record',
          attributes: {
            dataset: {
              type: 'EntityOrCommon',
              name: 'Dataset',
            },
          },
        },
      },
      Role: {
        memberOfTypes: ['Role'],
      },
      ServiceAccount: {
        memberOfTypes: ['Group', 'Role'],
        shape: {
          type: 'Record',
          attributes: {
            disabled: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            name: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            owners: {
              type: 'Set',
              element: {
                type: 'EntityOrCommon',
                name: 'Human',
              },
            },
          },
        },
      },
      Snapshot: {
        memberOfTypes: ['Dataset'],
        shape: {
          type: 'Record',
          attributes: {
            accountableHumans: {
              type: 'Set',
              element: {
                type: 'EntityOrCommon',
                name: 'Human',
              },
            },
            author: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            dataset: {
              type: 'EntityOrCommon',
              name: 'Dataset',
            },
            externallySourced: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            gatePassed: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            highImpact: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            id: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            integrityVerified: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            quarantined: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            state: {
              type: 'EntityOrCommon',
              name: 'String',
            },
          },
        },
      },
      Source: {
        memberOfTypes: ['Dataset'],
        shape: {
          type: 'Record',
          attributes: {
            dataset: {
              type: 'EntityOrCommon',
              name: 'Dataset',
            },
            name: {
              type: 'EntityOrCommon',
              name: 'String',
            },
            quarantined: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
            trusted: {
              type: 'EntityOrCommon',
              name: 'Bool',
            },
          },
        },
      },
      Workspace: {
        shape: {
          type: 'Record',
          attributes: {
            admins: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            auditors: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            contributors: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            labelers: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            owners: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            stewards: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
            trainers: {
              type: 'EntityOrCommon',
              name: 'Role',
            },
          },
        },
      },
    },
    actions: {
      approve: {
        appliesTo: {
          resourceTypes: ['ChangeRequest'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      configureDataset: {
        appliesTo: {
          resourceTypes: ['Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      createDataset: {
        appliesTo: {
          resourceTypes: ['Workspace'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      export: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      gate: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      grantRoles: {
        appliesTo: {
          resourceTypes: ['Workspace'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      ingest: {
        appliesTo: {
          resourceTypes: ['Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      liftQuarantine: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      liftSourceQuarantine: {
        appliesTo: {
          resourceTypes: ['Source'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      manageIdentities: {
        appliesTo: {
          resourceTypes: ['Workspace'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      managePolicies: {
        appliesTo: {
          resourceTypes: ['Workspace'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      manageSources: {
        appliesTo: {
          resourceTypes: ['Source'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      manageTokens: {
        appliesTo: {
          resourceTypes: ['Identity'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      overrideGate: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      promote: {
        appliesTo: {
          resourceTypes: ['ChangeRequest'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      quarantine: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      quarantineSource: {
        appliesTo: {
          resourceTypes: ['Source'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      read: {
        appliesTo: {
          resourceTypes: ['Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      readAudit: {
        appliesTo: {
          resourceTypes: ['Workspace', 'Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      relabel: {
        appliesTo: {
          resourceTypes: ['LabelSet'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      release: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      review: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      rollback: {
        appliesTo: {
          resourceTypes: ['Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      scan: {
        appliesTo: {
          resourceTypes: ['Snapshot'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
      tag: {
        appliesTo: {
          resourceTypes: ['Dataset'],
          principalTypes: ['Human', 'ServiceAccount'],
          context: {
            type: 'RequestContext',
          },
        },
      },
    },
  },
};
