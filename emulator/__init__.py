"""The local AWS emulator: moto's server plus the adapter that makes it deploy our templates.

* ``adapter.py``: ``install()``, which patches moto in the serving process.
* ``cloudformation.py``: the CloudFormation engine's behaviour (unknown types rejected,
  failed stacks instead of HTTP 500, dependents updated, ...).
* ``services/``: one module per AWS service (``ec2.py``, ``s3.py``, ``rds.py``, ...), each
  holding that service's models for the types moto lacks (``MODELS``) and its fixes to
  moto's own models (``FIXES``: create-time checks that refuse what AWS refuses, property
  rewrites, after-create steps, GetAtt attributes);
  ``services/base.py`` has what they share; a module's ``patch_api()`` patches the service's
  API where moto lacks an action or answers what AWS never would (``services/ecs_api.py``:
  service deployments and revisions, one-off tasks that run to completion);
* ``drift.py``: CloudFormation's drift detection, which moto lacks (every stack IN_SYNC: nothing
  is compared), for ``make drift ENV=dev LOCAL=1``;
* ``change_sets.py``: change sets as CloudFormation describes them (Add/Modify/Remove,
  ``Replacement`` from the resource schemas: ``replacement.py``, public as
  ``tools.cfn_schema.replaces``), so ``cdk diff`` against the emulator is the change-set diff;
* ``local.py``: the ``deploy``/``diff``/``destroy`` driver behind ``make deploy-local`` /
  ``make diff-local``.

A new resource type goes in the module of its AWS service (a new module for a new service,
listed in ``services.SERVICES``): register its model in that module's ``MODELS``, or its
fix in ``FIXES``; the registry (``services/__init__.py``) picks it up.
"""
