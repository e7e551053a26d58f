// Trusted Access role bindings, written by `aks-trustedaccess export --format bicep`.
// Deploy: az deployment sub create --location <region> --template-file main.bicep

targetScope = 'subscription'

module sub_00000000_0000_4000_8000_000000000001_rg_fleet_0 'modules/00000000-0000-4000-8000-000000000001_rg-fleet-0.bicep' = {
  name: 'trustedaccess-00000000-0000-4000-8000-000000000001_rg-fleet-0'
  scope: resourceGroup('00000000-0000-4000-8000-000000000001', 'rg-fleet-0')
}

module sub_00000001_0000_4000_8000_000000000002_rg_fleet_1 'modules/00000001-0000-4000-8000-000000000002_rg-fleet-1.bicep' = {
  name: 'trustedaccess-00000001-0000-4000-8000-000000000002_rg-fleet-1'
  scope: resourceGroup('00000001-0000-4000-8000-000000000002', 'rg-fleet-1')
}
