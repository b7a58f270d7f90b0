-- One row per span of a constant daily dose of an ingredient (OMOP DOSE_ERA), where the
-- strength is known: DRUG_STRENGTH gives the ingredient amount per unit of the drug, the
-- exposure its quantity and days supply, so daily dose = amount × quantity / days supply.
-- Exposures of one person, ingredient, unit and dose merge with a 30-day persistence
-- window (gaps and islands, one pass). Drugs without a solid strength row are left out.
with dosed as (
    select
        drugs.person_id,
        strength.ingredient_concept_id,
        strength.amount_unit_concept_id as unit_concept_id,
        round(strength.amount_value * drugs.quantity / drugs.days_supply, 4) as dose_value,
        drugs.drug_exposure_start_date as start_date,
        greatest(coalesce(drugs.drug_exposure_end_date,
                          drugs.drug_exposure_start_date + drugs.days_supply - 1),
                 drugs.drug_exposure_start_date) as end_date
    from {{ ref('drug_exposure') }} as drugs
    inner join {{ source('vocab', 'drug_strength') }} as strength
        on drugs.drug_concept_id = strength.drug_concept_id
        and strength.invalid_reason is null
        and strength.amount_value is not null
        and strength.amount_unit_concept_id is not null
    where drugs.quantity > 0 and drugs.days_supply > 0
),

{{ gaps_and_islands('dosed', ['person_id', 'ingredient_concept_id', 'unit_concept_id',
                              'dose_value'], 30, 'numbered') }},

eras as (
    select
        person_id, ingredient_concept_id, unit_concept_id, dose_value,
        min(start_date) as era_start, max(end_date) as era_end
    from numbered
    group by person_id, ingredient_concept_id, unit_concept_id, dose_value, island
)

select
{{ cdm_select({
    'dose_era_id': 'row_number() over (order by person_id, ingredient_concept_id, era_start)',
    'person_id': 'person_id',
    'drug_concept_id': 'ingredient_concept_id',
    'unit_concept_id': 'unit_concept_id',
    'dose_value': 'dose_value',
    'dose_era_start_date': 'era_start',
    'dose_era_end_date': 'era_end',
}) }}
from eras
