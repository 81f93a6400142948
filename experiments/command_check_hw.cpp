#include <cstdio>
#include <iostream>

#include "experiments/cli.h"
#include "sim/chip_schema.h"
#include "sim/energy.h"

namespace qxbar::cli {

int run_check_hw(const std::vector<std::string>& args) {
  ChipOptions chip_options;
  bool keys_markdown = false;
  po::options_description options("check-hw options");
  chip_options.add_to(options);
  options.add_options()("keys-markdown", po::bool_switch(&keys_markdown),
                        "print the table of every chip key (the reference in hw_configs/README.md) and exit");
  po::positional_options_description positional;
  positional.add("hw", 1);
  po::variables_map values;
  if (!parse_command_line("check-hw", args, options, values, positional)) return 0;
  if (keys_markdown) {
    std::cout << chip_keys_markdown();
    return 0;
  }

  const ChipSpec chip = chip_options.load();
  std::printf("%-42s %-22s %-9s %s\n", "key", "value", "unit", "from");
  for (const ResolvedSetting& setting : chip.settings) {
    std::printf("%-42s %-22s %-9s %s\n", setting.key.c_str(), setting_text(setting.value).c_str(),
                setting.unit.c_str(), setting.source.c_str());
  }
  const PerComponent area = area_of(chip);
  std::printf("\nderived\n");
  std::printf("  crossbars on chip        %lld\n", static_cast<long long>(chip.crossbars_on_chip()));
  std::printf("  ADCs per crossbar        %d\n", chip.adcs_per_crossbar());
  std::printf("  clock cycle              %g ns\n", chip.cycle_ns());
  std::printf("  ADC conversion           %g ns, %g pJ\n", chip.adc_conversion_ns(), chip.adc_conversion_energy_pj());
  std::printf("  area                     %.6f mm^2 (", area.total() / 1e6);
  const char* separator = "";
  for (const Component component : kAreaComponents) {
    std::printf("%s%s %.6f", separator, to_string(component), area[component] / 1e6);
    separator = ", ";
  }
  std::printf(")\n  fingerprint              %s\n", chip.fingerprint.c_str());
  return 0;
}

}  // namespace qxbar::cli
